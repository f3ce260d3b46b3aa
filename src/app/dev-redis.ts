import { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL } from '../config/configuration';
import { EmbeddedRedis, startEmbeddedRedis } from './embedded-redis';

export interface DevRedis {
  url: string;
  source: 'REDIS_URL' | 'local' | 'embedded';
  embedded?: EmbeddedRedis;
}

/**
 * REDIS_URL when set; else a local Redis if one answers; else an embedded redis-server, which keeps
 * its data in `dataDir` when one is given (`npm start` passes `.sluice/redis` in the checkout).
 */
export async function resolveDevRedis(
  env: NodeJS.ProcessEnv,
  localUrl = DEFAULT_REDIS_URL,
  binary = 'redis-server',
  dataDir?: string,
): Promise<DevRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'REDIS_URL' };
  if (await answers(localUrl)) return { url: localUrl, source: 'local' };
  const embedded = await startEmbeddedRedis({ binary, ...(dataDir ? { dataDir } : {}) });
  return { url: embedded.url, source: 'embedded', embedded };
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
