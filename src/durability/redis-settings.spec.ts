import { assessRedisSettings, describeSettings, parseInfo, settingsVerified } from './redis-settings';

const persistence = (aof: string): { text: string } => ({ text: `# Persistence\r\nloading:0\r\naof_enabled:${aof}\r\naof_rewrite_in_progress:0\r\n` });
const memory = (policy: string): { text: string } => ({ text: `# Memory\r\nused_memory:1000\r\nmaxmemory_policy:${policy}\r\n` });

describe('Redis durability settings', () => {
  it('parses INFO text, skipping section headers', () => {
    expect(parseInfo('# Memory\r\nmaxmemory_policy:noeviction\r\nmem_allocator:jemalloc-5.2.1\r\n')).toEqual(
      new Map([
        ['maxmemory_policy', 'noeviction'],
        ['mem_allocator', 'jemalloc-5.2.1'],
      ]),
    );
  });

  it('verifies AOF on and noeviction', () => {
    const v = assessRedisSettings(persistence('1'), memory('noeviction'));
    expect(v).toEqual({ problems: [], unverified: [] });
    expect(settingsVerified(v)).toBe(true);
    expect(describeSettings(v)).toBe('');
  });

  it('names each setting that risks data loss', () => {
    const v = assessRedisSettings(persistence('0'), memory('allkeys-lru'));
    expect(settingsVerified(v)).toBe(false);
    expect(describeSettings(v)).toBe(
      'Redis can lose data: AOF persistence is off (aof_enabled:0; needs appendonly yes); maxmemory-policy is allkeys-lru (needs noeviction)',
    );
  });

  it('says "unverified" when INFO is refused or a field is missing, and still reports what it could read', () => {
    const v = assessRedisSettings({ refused: "NOPERM this user has no permissions to run the 'info' command" }, { text: '# Memory\r\nused_memory:1\r\n' });
    expect(v.problems).toEqual([]);
    expect(describeSettings(v)).toBe(
      "Redis persistence unverified: INFO persistence refused (NOPERM this user has no permissions to run the 'info' command); maxmemory_policy missing from INFO memory",
    );
    expect(describeSettings(assessRedisSettings(persistence('0'), { refused: 'ERR unknown command' }))).toBe(
      'Redis can lose data: AOF persistence is off (aof_enabled:0; needs appendonly yes). Redis persistence unverified: INFO memory refused (ERR unknown command)',
    );
  });
});
