import { Redis, RedisOptions } from 'ioredis';

/**
 * Commands from request paths must fail fast while Redis is away (the API answers 503), so these
 * clients neither queue offline commands nor wait long for a reply.
 */
export const FAIL_FAST_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 3000,
  connectTimeout: 3000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

/** Workers block on BRPOPLPUSH-style calls; BullMQ requires these to retry forever. */
export const BLOCKING_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  connectTimeout: 3000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

export function createRedis(url: string, options: RedisOptions, name: string): Redis {
  return new Redis(url, { ...options, connectionName: name, lazyConnect: false });
}
