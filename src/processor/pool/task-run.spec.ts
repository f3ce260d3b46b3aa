import { exitOutcome, isUsableLimit } from './task-run';

describe('exitOutcome', () => {
  const facts = { pid: 7, durationMs: 12.5, exitCode: null, signal: 'SIGKILL' as const, rssBytes: 300 };

  it('reports the reason the pool stopped the child', () => {
    expect(exitOutcome({ ...facts, stopReason: 'time_limit' })).toEqual({ kind: 'time_limit', pid: 7, durationMs: 12.5 });
    expect(exitOutcome({ ...facts, stopReason: 'memory_limit' })).toEqual({ kind: 'memory_limit', pid: 7, durationMs: 12.5, rssBytes: 300 });
    expect(exitOutcome({ ...facts, stopReason: 'cancelled' })).toEqual({ kind: 'cancelled', pid: 7, durationMs: 12.5 });
    expect(exitOutcome({ ...facts, stopReason: 'shutdown' })).toEqual({ kind: 'shutdown', pid: 7, durationMs: 12.5 });
  });

  it('is a crash, with the exit code and signal, when the pool did not stop the child', () => {
    expect(exitOutcome({ ...facts, stopReason: null, exitCode: 70, signal: null })).toEqual({ kind: 'crashed', exitCode: 70, signal: null, pid: 7, durationMs: 12.5 });
  });
});

describe('isUsableLimit', () => {
  it('accepts positive delays a timer can hold', () => {
    expect(isUsableLimit(1)).toBe(true);
    expect(isUsableLimit(86_400_000)).toBe(true);
  });

  it('treats 0, negatives, non-finite and over-long delays as no limit', () => {
    for (const ms of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) expect(isUsableLimit(ms)).toBe(false);
  });
});
