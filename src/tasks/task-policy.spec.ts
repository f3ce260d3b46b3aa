import { TaskPolicy, assertValidPolicy, retryDelayMs } from './task-policy';

const policy = (p: Partial<TaskPolicy> = {}): TaskPolicy => ({
  queue: 'cpu_intensive',
  timeLimit: 600,
  softTimeLimit: 540,
  maxRetries: 3,
  retryBackoff: 60,
  retryBackoffMax: 600,
  retryJitter: false,
  resultExpires: 86400,
  ...p,
});

describe('retryDelayMs', () => {
  it('gives the seed schedule 60/120/240 s without jitter', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(policy(), n))).toEqual([60_000, 120_000, 240_000]);
  });

  it('caps the delay at retryBackoffMax', () => {
    expect(retryDelayMs(policy(), 5)).toBe(600_000);
    expect(retryDelayMs(policy({ retryBackoffMax: 100 }), 2)).toBe(100_000);
  });

  it('jitters by at most ±10%, then caps', () => {
    const p = policy({ retryJitter: true });
    expect(retryDelayMs(p, 1, () => 0)).toBe(54_000);
    expect(retryDelayMs(p, 1, () => 0.999999)).toBe(66_000);
    expect(retryDelayMs(p, 1, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(p, 4, () => 0.999999)).toBe(528_000);
    expect(retryDelayMs(p, 5, () => 0)).toBe(600_000);
  });

  it('supports fractional seconds', () => {
    expect(retryDelayMs(policy({ retryBackoff: 0.2, retryBackoffMax: 1 }), 3)).toBe(800);
  });
});

describe('assertValidPolicy', () => {
  it.each([
    [{ softTimeLimit: 600 }, /softTimeLimit/],
    [{ timeLimit: 0 }, /timeLimit/],
    [{ maxRetries: -1 }, /maxRetries/],
    [{ retryBackoffMax: 10 }, /retryBackoffMax/],
    [{ resultExpires: 0 }, /resultExpires/],
  ])('refuses %j', (bad, msg) => {
    expect(() => assertValidPolicy('t', policy(bad))).toThrow(msg);
  });
  it('accepts the defaults', () => expect(() => assertValidPolicy('t', policy())).not.toThrow());
});
