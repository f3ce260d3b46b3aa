import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisKeys } from '../redis/redis-keys';
import { TaskStore } from '../tasks/store/task-store';

export const WORKER_REDIS = Symbol('WORKER_REDIS');
export const WORKER_TASK_STORE = Symbol('WORKER_TASK_STORE');

/**
 * The worker's BullMQ Workers and its status transitions share one connection: a task's final
 * status update and BullMQ's moveToFinished then leave in one write (see coalesceWrites) and are
 * applied in that order. Socket writes are the worker's largest per-task cost (docs/BENCHMARKS.md).
 */
export const workerTaskStore = (redis: Redis, keys: RedisKeys): TaskStore => new TaskStore(redis, keys);

@Injectable()
export class WorkerRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(WORKER_REDIS) private readonly redis: Redis) {}
  /** After the BullMQ Workers closed (QueueConsumer drains them before shutdown). */
  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
