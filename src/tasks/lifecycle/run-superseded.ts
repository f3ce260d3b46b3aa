/**
 * A worker-side write refused because the run no longer owns the task: its lock expired, or
 * another run holds it now. The write changed nothing.
 */
export class RunSupersededError extends Error {
  override readonly name = 'RunSupersededError';
}

/** BullMQ's error codes for a move whose lock token is not the job's (finished-errors.js). */
const LOCK_CODES = new Set([-1, -2, -3, -6]);

/** BullMQ reports a refused move as a plain Error with a numeric `code`; give it a class. */
export function classifyMoveError(err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && LOCK_CODES.has(code)) return new RunSupersededError((err as Error).message);
  return err instanceof Error ? err : new Error(String(err));
}
