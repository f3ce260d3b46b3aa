import { Redis } from 'ioredis';

/**
 * Holds a connection's socket writes until the end of this event-loop turn, so the commands sent
 * meanwhile (a status update and the BullMQ call right behind it) leave in one writev, and Redis
 * reads them with one read. On this VM a socket write costs 20–80 µs of CPU on each side, more than
 * the scripts themselves (docs/BENCHMARKS.md). Order on the connection is unchanged.
 */
export function coalesceWrites(redis: Redis): void {
  const socket = redis.stream;
  if (!socket || socket.writableCorked > 0 || redis.status !== 'ready') return;
  socket.cork();
  setImmediate(() => socket.uncork());
}
