import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * The BullMQ Workers' connection: it waits for Redis rather than failing fast, as BullMQ requires,
 * and carries the lifecycle scripts like every connection from redis.factory.
 */
export const WORKER_REDIS = Symbol('WORKER_REDIS');

@Injectable()
export class WorkerRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(WORKER_REDIS) private readonly redis: Redis) {}
  /** After the BullMQ Workers closed (QueueConsumer drains them before shutdown). */
  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
