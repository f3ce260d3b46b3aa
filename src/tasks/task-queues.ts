import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConnectionOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { withDeadline } from '../common/deadline.util';
import { REDIS_CONFIG } from '../config/config.module';
import { RedisConfig } from '../config/configuration';
import { REDIS_CLIENT } from '../redis/redis.module';
import { QueueKeys, bullQueueName } from './lifecycle/task-keys';
import { TaskRegistry } from './task-registry';
import { logEvent } from '../common/log-event';

/**
 * The BullMQ queue of every queue a registered task type uses. Built from the registry at start-up
 * rather than declared with @nestjs/bullmq's registerQueue, because the queue names come from
 * configuration, and each is named with its hash tag (`{cpu_intensive}`) so that a queue's keys
 * share one Redis Cluster slot. They use the process's fail-fast connection, which carries the
 * lifecycle scripts (see redis.factory).
 */
@Injectable()
export class TaskQueues implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(TaskQueues.name);
  private readonly byName = new Map<string, Queue>();
  private readonly keysByName = new Map<string, QueueKeys>();

  constructor(
    registry: TaskRegistry,
    @Inject(REDIS_CLIENT) redis: Redis,
    @Inject(REDIS_CONFIG) cfg: RedisConfig,
  ) {
    for (const name of registry.queues()) {
      this.byName.set(name, new Queue(bullQueueName(name), { connection: redis as unknown as ConnectionOptions, prefix: cfg.prefix }));
      this.keysByName.set(name, new QueueKeys(cfg.prefix, name));
    }
  }

  /** Producers fail fast while disconnected, so wait for the first connection (but not forever). */
  async onModuleInit(): Promise<void> {
    // Without a listener BullMQ prints every reconnect failure with its stack; one line will do.
    for (const [name, q] of this.byName) q.on('error', (err: Error) => this.logger.warn(logEvent('Queue connection error', { queue: name, error: err.message })));
    await Promise.all(this.all().map((q) => withDeadline(q.waitUntilReady(), 3000, () => new Error('timeout')).catch(() => undefined)));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.all().map((q) => withDeadline(q.close(), 2000, () => new Error('timeout')).catch(() => undefined)));
  }

  get(name: string): Queue {
    const q = this.byName.get(name);
    if (!q) throw new Error(`Queue ${name} is not registered`);
    return q;
  }

  keys(name: string): QueueKeys {
    const k = this.keysByName.get(name);
    if (!k) throw new Error(`Queue ${name} is not registered`);
    return k;
  }

  /** Sluice's queue names (without the hash tag). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): Queue[] {
    return [...this.byName.values()];
  }
}
