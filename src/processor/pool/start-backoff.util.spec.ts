import { startRetryDelayMs } from './start-backoff.util';

describe('startRetryDelayMs', () => {
  it('doubles from 100 ms per consecutive failure', () => {
    expect([1, 2, 3, 4].map(startRetryDelayMs)).toEqual([100, 200, 400, 800]);
  });

  it('is capped at 5 s', () => {
    expect(startRetryDelayMs(7)).toBe(5_000);
    expect(startRetryDelayMs(60)).toBe(5_000);
  });
});
