import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TTL_MS, WorkerHeartbeat as Beat } from '../metrics/heartbeat';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RedisKeys } from '../redis/redis-keys';
import { ChildPool } from './pool/child-pool';
import { TaskRunner } from './task-runner';
import { logEvent } from '../common/log-event';

/**
 * Tells the API pods that this worker is alive and how much memory its children use, through a
 * key that expires, so a dead worker disappears on its own.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHeartbeat.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly pool: ChildPool,
    private readonly runner: TaskRunner,
    @Inject(WORKER_CONFIG) private readonly worker: WorkerConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const id = this.runner.workerId;
    await this.redis.multi().del(this.keys.heartbeat(id)).zrem(this.keys.heartbeats, id).exec().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    const beat: Beat = {
      worker_id: this.runner.workerId,
      at: now,
      queues: this.worker.queues,
      children: this.pool.slots().map((s) => ({ slot: s.slot, pid: s.pid, rss_bytes: s.rssBytes, task_id: s.taskId })),
    };
    try {
      await this.redis
        .multi()
        .set(this.keys.heartbeat(beat.worker_id), JSON.stringify(beat), 'PX', HEARTBEAT_TTL_MS)
        .zadd(this.keys.heartbeats, now, beat.worker_id)
        .exec();
    } catch (err) {
      this.logger.debug(logEvent('Heartbeat not written', { error: (err as Error).message }));
    }
  }
}
