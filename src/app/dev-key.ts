import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The label of the key `npm start` generates; access-log lines show `key_label=local`. */
export const DEV_KEY_LABEL = 'local';

export interface DevKey {
  /** The API_KEYS entry, `local:<key>`. */
  entry: string;
  key: string;
  /** Made by this start (false: read back from the file a previous start wrote). */
  generated: boolean;
}

/**
 * The key of a laptop's `npm start` when API_KEYS is unset: read from `file`, or generated and
 * written there (mode 0600), so a restart keeps it and scripts and browsers need not be updated.
 */
export function devApiKey(file: string): DevKey {
  const kept = readKey(file);
  if (kept) return { entry: `${DEV_KEY_LABEL}:${kept}`, key: kept, generated: false };
  const key = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { entry: `${DEV_KEY_LABEL}:${key}`, key, generated: true };
}

function readKey(file: string): string | undefined {
  try {
    const key = readFileSync(file, 'utf8').trim();
    // A file edited into something that is not a key is replaced, not trusted.
    return /^[A-Za-z0-9_-]{16,}$/.test(key) ? key : undefined;
  } catch {
    return undefined;
  }
}
