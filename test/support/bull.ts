import { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BLOCKING_OPTIONS, createRedis } from '../../src/redis/redis.factory';
import { QueueKeys, bullQueueName } from '../../src/tasks/lifecycle/task-keys';
import { TestRedis } from './redis';

/**
 * BullMQ on a Sluice connection (one that carries the lifecycle scripts), to drive tasks as a
 * worker would, one BullMQ call at a time, with a known lock token.
 */
export class BullDriver {
  readonly connection: Redis;
  readonly queue: Queue;
  readonly worker: Worker;
  readonly keys: QueueKeys;

  constructor(redis: TestRedis, queue = 'cpu_intensive', backoffMs = 60_000) {
    this.connection = createRedis(redis.url, BLOCKING_OPTIONS, 'test:driver');
    const opts = { connection: this.connection as unknown as ConnectionOptions, prefix: redis.prefix };
    this.queue = new Queue(bullQueueName(queue), opts);
    this.worker = new Worker(bullQueueName(queue), null, { ...opts, settings: { backoffStrategy: () => backoffMs } });
    this.keys = new QueueKeys(redis.prefix, queue);
  }

  /**
   * Takes jobs, as a worker's moveToActive does, until it has the one with `id`; jobs taken before
   * it stay active under `token`.
   */
  async take(token: string, id: string): Promise<Job> {
    for (;;) {
      const job = await this.worker.getNextJob(token, { block: false });
      if (!job) throw new Error(`job ${id} is not waiting`);
      if (job.id === id) return job;
    }
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
    this.connection.disconnect();
  }
}
