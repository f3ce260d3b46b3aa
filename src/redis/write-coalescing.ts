import { Redis } from 'ioredis';

/**
 * Holds a connection's socket writes until the promise callbacks now queued have run, so the
 * commands they send (a status update and the BullMQ call right behind it) leave in one writev and
 * Redis reads them with one read. On this VM a socket write costs 20–80 µs of CPU on each side, more
 * than the scripts themselves (docs/BENCHMARKS.md). Order on the connection is unchanged.
 * process.nextTick, not setImmediate: holding the writes until the end of the event-loop turn made
 * them wait behind other callbacks, and the worker's no-op drain measured ~10 % slower.
 */
export function coalesceWrites(redis: Redis): void {
  const socket = redis.stream;
  if (!socket || socket.writableCorked > 0 || redis.status !== 'ready') return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}
