import { LIMIT_OPTS, limitOpts, resolveLimits, timeLimitsOf } from './task-limits';
import { TaskPolicy } from './task-policy';
import { InvalidLimitsError, LimitAboveCapError } from './task.errors';

const policy: TaskPolicy = { queue: 'q', timeLimit: 600, softTimeLimit: 540, maxRetries: 3, retryBackoff: 60, retryBackoffMax: 600, retryJitter: true, resultExpires: 86400 };

describe('resolveLimits', () => {
  it("keeps the type's policy when nothing is asked", () => {
    expect(resolveLimits('t', policy)).toEqual({ timeLimit: 600, softTimeLimit: 540, maxRetries: 3 });
  });

  it('lowers what is asked, and keeps the soft limit at most the hard one', () => {
    expect(resolveLimits('t', policy, { timeLimit: 120, softTimeLimit: 100, maxRetries: 0 })).toEqual({ timeLimit: 120, softTimeLimit: 100, maxRetries: 0 });
    expect(resolveLimits('t', policy, { timeLimit: 120 })).toEqual({ timeLimit: 120, softTimeLimit: 120, maxRetries: 3 });
    expect(resolveLimits('t', policy, { timeLimit: 600, softTimeLimit: 540, maxRetries: 3 })).toEqual({ timeLimit: 600, softTimeLimit: 540, maxRetries: 3 });
  });

  it.each([
    [{ timeLimit: 601 }, 'options.time_limit 601 is above the cap of t: 600 s'],
    [{ softTimeLimit: 541 }, 'options.soft_time_limit 541 is above the cap of t: 540 s'],
    [{ maxRetries: 4 }, 'options.max_retries 4 is above the cap of t: 3;'],
  ])('refuses to raise a cap: %j', (asked, message) => {
    expect(() => resolveLimits('t', policy, asked)).toThrow(LimitAboveCapError);
    expect(() => resolveLimits('t', policy, asked)).toThrow(message);
  });

  it('refuses a soft limit above the hard limit asked for', () => {
    expect(() => resolveLimits('t', policy, { timeLimit: 100, softTimeLimit: 200 })).toThrow(InvalidLimitsError);
  });
});

describe('limitOpts and timeLimitsOf', () => {
  it('stores only what was lowered, and reads back the lower of stored and policy', () => {
    expect(limitOpts(policy, { timeLimit: 600, softTimeLimit: 540, maxRetries: 1 })).toEqual({});
    const opts = limitOpts(policy, { timeLimit: 120, softTimeLimit: 120, maxRetries: 3 });
    expect(opts).toEqual({ [LIMIT_OPTS.timeLimit]: 120, [LIMIT_OPTS.softTimeLimit]: 120 });
    expect(timeLimitsOf(policy, opts)).toEqual({ timeLimit: 120, softTimeLimit: 120 });
    expect(timeLimitsOf(policy, {})).toEqual({ timeLimit: 600, softTimeLimit: 540 });
    // A policy lowered since the submission applies too.
    expect(timeLimitsOf({ timeLimit: 60, softTimeLimit: 50 }, opts)).toEqual({ timeLimit: 60, softTimeLimit: 50 });
  });
});
