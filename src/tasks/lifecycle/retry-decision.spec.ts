import { loadConfig } from '../../config/configuration';
import { TaskPolicy, policyFromConfig } from '../task-policy';
import { backoffFor, decideRetry } from './retry-decision';

// The seed's defaults (60/120/240 s, capped at 600 s), from the configuration itself; jitter off.
const policy: TaskPolicy = policyFromConfig('cpu_intensive', loadConfig({ TASK_RETRY_JITTER: 'false' }).task);
const run = (attemptsMade: number, extra: Partial<Parameters<typeof decideRetry>[0]> = {}) =>
  decideRetry({ attemptsMade, maxAttempts: policy.maxRetries + 1, retryable: true, policy, ...extra });

describe('decideRetry', () => {
  it('retries the seed default 3 times after 60, 120 and 240 s, then fails', () => {
    expect([0, 1, 2, 3].map((n) => run(n))).toEqual([
      { retry: true, attempt: 1, delayMs: 60_000 },
      { retry: true, attempt: 2, delayMs: 120_000 },
      { retry: true, attempt: 3, delayMs: 240_000 },
      { retry: false },
    ]);
  });

  it('caps the delay at retry_backoff_max', () => {
    expect(decideRetry({ attemptsMade: 5, maxAttempts: 10, retryable: true, policy })).toEqual({ retry: true, attempt: 6, delayMs: 600_000 });
  });

  it('jitters by at most ±10 % with jitter on', () => {
    const jittered = { ...policy, retryJitter: true };
    expect(decideRetry({ attemptsMade: 0, maxAttempts: 4, retryable: true, policy: jittered }, () => 0)).toEqual({ retry: true, attempt: 1, delayMs: 54_000 });
    expect(decideRetry({ attemptsMade: 0, maxAttempts: 4, retryable: true, policy: jittered }, () => 1)).toEqual({ retry: true, attempt: 1, delayMs: 66_000 });
  });

  it('never retries a non-retryable failure or an unknown task type', () => {
    expect(run(0, { retryable: false })).toEqual({ retry: false });
    expect(run(0, { policy: undefined })).toEqual({ retry: false });
  });

  it('gives BullMQ -1 (no retry) for a final decision, the delay otherwise', () => {
    expect(backoffFor({ retry: false })).toBe(-1);
    expect(backoffFor(undefined)).toBe(-1);
    expect(backoffFor({ retry: true, attempt: 1, delayMs: 1500 })).toBe(1500);
  });
});
