const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Delay before forking again after `failures` consecutive start failures: quick for a one-off
 * (a fork that hit EAGAIN), slow for a broken entry, which would otherwise fork in a tight loop.
 */
export function startRetryDelayMs(failures: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
}
