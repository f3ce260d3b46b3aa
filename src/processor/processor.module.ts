import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { REDIS_CONFIG, WORKER_CONFIG } from '../config/config.module';
import { RedisConfig, WorkerConfig } from '../config/configuration';
import { BLOCKING_OPTIONS, createRedis } from '../redis/redis.factory';
import { WORKER_REDIS, WorkerRedisCloser } from './worker-redis';
import { TasksModule } from '../tasks/tasks.module';
import { ChildPool } from './pool/child-pool';
import { ChildPoolHealthIndicator } from './pool-health';
import { QueueConsumer } from './queue-consumer';
import { TaskRunner } from './task-runner';
import { WorkerHeartbeat } from './worker-heartbeat';

class PoolCloser implements OnApplicationShutdown {
  constructor(@Inject(ChildPool) private readonly pool: ChildPool) {}
  /** Last resort: no child may outlive the worker, even when shutdown skipped the drain. */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.close(0);
  }
}

/** The worker: BullMQ Workers feeding a supervised pool of child processes. */
@Module({
  imports: [TasksModule, TerminusModule],
  providers: [
    {
      provide: ChildPool,
      inject: [WORKER_CONFIG],
      useFactory: (cfg: WorkerConfig) =>
        new ChildPool({
          size: cfg.concurrency,
          maxTasksPerChild: cfg.maxTasksPerChild,
          maxMemoryKiB: cfg.maxMemoryPerChildKiB,
          childNiceness: cfg.childNiceness,
          cancelGraceMs: cfg.cancelGrace * 1000,
          logger: new Logger(ChildPool.name),
        }),
    },
    {
      provide: WORKER_REDIS,
      inject: [REDIS_CONFIG],
      useFactory: (cfg: RedisConfig) => createRedis(cfg.url, BLOCKING_OPTIONS, 'sluice:worker'),
    },
    WorkerRedisCloser,
    TaskRunner,
    QueueConsumer,
    ChildPoolHealthIndicator,
    PoolCloser,
    WorkerHeartbeat,
  ],
  exports: [ChildPool, ChildPoolHealthIndicator, TaskRunner, QueueConsumer],
})
export class ProcessorModule {}
