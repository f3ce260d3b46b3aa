import { hash, timingSafeEqual } from 'node:crypto';
import { ApiKeyEntry } from '../config/api-keys';

/**
 * The accepted keys, by SHA-256. A presented key is hashed and compared in constant time against
 * every entry without stopping early, so neither its length nor which key matched can be learnt
 * from timing. Only labels leave this class.
 */
export class ApiKeyRing {
  private readonly entries: { label: string; digest: Buffer }[];

  constructor(keys: ApiKeyEntry[]) {
    this.entries = keys.map((k) => ({ label: k.label, digest: Buffer.from(k.sha256, 'hex') }));
  }

  /** The label of the key, or null when it is not accepted. */
  identify(presented: string | undefined): string | null {
    if (typeof presented !== 'string') return null;
    // One-shot: no Hash object per request (the gate runs this on every request under /api/v1).
    const given = hash('sha256', presented, 'buffer');
    let label: string | null = null;
    for (const e of this.entries) if (timingSafeEqual(e.digest, given)) label = e.label;
    return label;
  }
}
