import { createHash } from 'node:crypto';
import { ConfigProblem } from './config.errors';

/** An accepted API key: its label, which logs and tasks show, and its SHA-256, never the key. */
export interface ApiKeyEntry {
  label: string;
  sha256: string;
}

const LABEL = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** The label of a key given without one: `key-` and the first 8 hex digits of its SHA-256. */
export const defaultLabel = (sha256: string): string => `key-${sha256.slice(0, 8).toLowerCase()}`;

/**
 * `API_KEYS` entries are `key` or `label:key`; `API_KEY_HASHES` entries are `sha256hex` or
 * `label:sha256hex`, so a deployment need not hold the plain keys. Problems are added to `problems`
 * and never quote a key.
 */
export function parseApiKeys(keys: string | undefined, hashes: string | undefined, problems: ConfigProblem[]): ApiKeyEntry[] {
  const out: ApiKeyEntry[] = [];
  const entries = (v: string | undefined) => (v ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  const split = (entry: string): [string | undefined, string] => {
    const i = entry.indexOf(':');
    return i < 0 ? [undefined, entry] : [entry.slice(0, i), entry.slice(i + 1)];
  };
  if (keys !== undefined && entries(keys).length === 0) problems.push({ variable: 'API_KEYS', detail: 'must hold at least one non-empty key when set' });
  if (hashes !== undefined && entries(hashes).length === 0) problems.push({ variable: 'API_KEY_HASHES', detail: 'must hold at least one hash when set' });
  for (const [n, entry] of entries(keys).entries()) {
    const [label, key] = split(entry);
    if (label !== undefined && !LABEL.test(label)) problems.push({ variable: 'API_KEYS', detail: `entry ${n + 1} has a label that is not 1–64 letters, digits, _ . or -` });
    else {
      const sha256 = sha256Hex(key);
      out.push({ label: label ?? defaultLabel(sha256), sha256 });
    }
  }
  for (const [n, entry] of entries(hashes).entries()) {
    const [label, hash] = split(entry);
    if (label !== undefined && !LABEL.test(label)) problems.push({ variable: 'API_KEY_HASHES', detail: `entry ${n + 1} has a label that is not 1–64 letters, digits, _ . or -` });
    else if (!SHA256.test(hash)) problems.push({ variable: 'API_KEY_HASHES', detail: `entry ${n + 1} is not a SHA-256 in hex (64 hex digits)` });
    else out.push({ label: label ?? defaultLabel(hash), sha256: hash.toLowerCase() });
  }
  const labels = out.map((e) => e.label);
  const twice = [...new Set(labels.filter((l, i) => labels.indexOf(l) !== i))];
  if (twice.length) problems.push({ variable: 'API_KEYS', detail: `and API_KEY_HASHES give the label ${twice.join(', ')} to more than one key` });
  return out;
}
