import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { EmbeddedRedis, startEmbeddedRedis } from '../../src/app/embedded-redis';

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
 * server with a unique key prefix that is deleted afterwards.
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
  const embedded = await startEmbeddedRedis();
  return { url: embedded.url, prefix, embedded, stop: () => embedded.stop() };
}
