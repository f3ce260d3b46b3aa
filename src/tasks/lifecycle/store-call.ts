import { ReplyError } from 'ioredis';
import { StoreUnavailableError } from '../task.errors';

/** Redis error codes (a reply's first word) under which nothing was executed. */
const TRANSIENT_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK', 'NOSCRIPT', 'OOM']);

/** A reply error of a script that ran (a bug, not an outage); transient refusals and connection failures are not. */
export const isScriptError = (err: unknown): boolean => err instanceof ReplyError && !TRANSIENT_REPLIES.has((err as Error).message.split(' ', 1)[0]);

/**
 * Reads and idempotent writes: any connection failure or transient refusal is a plain 503, since
 * each script applied whole or not at all; a script's own error is thrown as it is.
 */
export async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isScriptError(err)) throw err;
    throw new StoreUnavailableError(`Redis is unavailable: ${(err as Error).message}`);
  }
}
