/** What one `INFO <section>` call gave: its text, or the error Redis answered with. */
export type InfoReply = { text: string } | { refused: string };

/**
 * The durability settings Sluice needs, judged from `INFO persistence` and `INFO memory` (managed
 * Redis often disables CONFIG GET but still answers INFO). Empty lists mean verified.
 */
export interface RedisSettingsVerdict {
  /** Settings read and found to risk data loss. */
  problems: string[];
  /** Settings that could not be read. */
  unverified: string[];
}

/** `INFO` text as a map of its `field:value` lines. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return fields;
}

/** AOF on (`appendonly yes`), and `maxmemory-policy noeviction`, which BullMQ requires. */
export function assessRedisSettings(persistence: InfoReply, memory: InfoReply): RedisSettingsVerdict {
  const verdict: RedisSettingsVerdict = { problems: [], unverified: [] };
  const check = (reply: InfoReply, section: string, field: string, wanted: string, problem: (v: string) => string): void => {
    if ('refused' in reply) {
      verdict.unverified.push(`INFO ${section} refused (${reply.refused})`);
      return;
    }
    const value = parseInfo(reply.text).get(field);
    if (value === undefined) verdict.unverified.push(`${field} missing from INFO ${section}`);
    else if (value !== wanted) verdict.problems.push(problem(value));
  };
  check(persistence, 'persistence', 'aof_enabled', '1', (v) => `AOF persistence is off (aof_enabled:${v}; needs appendonly yes)`);
  check(memory, 'memory', 'maxmemory_policy', 'noeviction', (v) => `maxmemory-policy is ${v} (needs noeviction)`);
  return verdict;
}

export const settingsVerified = (v: RedisSettingsVerdict): boolean => v.problems.length === 0 && v.unverified.length === 0;

/** One sentence for the alert and the log line: what is wrong, and what could not be read. */
export function describeSettings(v: RedisSettingsVerdict): string {
  const parts: string[] = [];
  if (v.problems.length) parts.push(`Redis can lose data: ${v.problems.join('; ')}`);
  if (v.unverified.length) parts.push(`Redis persistence unverified: ${v.unverified.join('; ')}`);
  return parts.join('. ');
}
