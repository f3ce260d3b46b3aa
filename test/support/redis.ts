import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { EmbeddedRedis } from '../../src/app/embedded-redis';
import { startOwnRedis } from './redis-server';

export interface TestRedis {
  url: string;
  /** A QUEUE_PREFIX of this suite's own. */
  prefix: string;
  embedded?: EmbeddedRedis;
  /** Deletes this suite's keys (shared Redis) or stops its server (own Redis). */
  stop(): Promise<void>;
}

/**
 * Each suite gets its own Redis: a redis-server on a free port, or, when REDIS_URL is set, that
 * server with a unique key prefix that is deleted afterwards. An own server runs as production
 * should (AOF on, noeviction), so the health report carries no redis_persistence warning.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const shared = process.env.REDIS_URL;
  if (shared) {
    return {
      url: shared,
      prefix,
      stop: async () => {
        const r = new Redis(shared);
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          if (keys.length) await r.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
        r.disconnect();
      },
    };
  }
  return startOwnRedis(prefix, { persistent: true });
}
