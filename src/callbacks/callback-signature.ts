import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-sluice-signature';
export const TIMESTAMP_HEADER = 'x-sluice-timestamp';
export const DELIVERY_HEADER = 'x-sluice-delivery';

/**
 * `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>`: the timestamp is signed with the
 * body, so a receiver that refuses old timestamps cannot be fed a recorded delivery again.
 */
export function signDelivery(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
