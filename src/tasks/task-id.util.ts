import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Task ids are lowercase UUIDs (they are also the BullMQ job ids). */
export function isTaskId(value: string): boolean {
  return UUID.test(value);
}

/** Sluice's UUIDv5 namespace for idempotency keys (a fixed, random UUID). */
const IDEMPOTENCY_NAMESPACE = Buffer.from('6f1c3c52b1a04f3e9b7c2d1e0a9f8e7d', 'hex');

/**
 * The task id of an idempotent submission: UUIDv5 (RFC 9562) of the queue and the key. The same key
 * on the same queue always names the same job, so BullMQ's own job id makes the add idempotent,
 * whatever happened to an earlier attempt's reply.
 */
export function idempotentTaskId(queue: string, key: string): string {
  const h = createHash('sha1').update(IDEMPOTENCY_NAMESPACE).update(`${queue}\u0000${key}`, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
