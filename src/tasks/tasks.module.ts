import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { ConnectionOptions } from 'bullmq';
import { APP_CONFIG, REDIS_CONFIG } from '../config/config.module';
import { AppConfig, RedisConfig } from '../config/configuration';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RevocationBus } from './revocation.bus';
import { TaskStore } from './store/task-store';
import { TaskCancellation } from './task-cancellation.service';
import { QUEUE_NAMES } from './task-names';
import { TaskQuery } from './task-query.service';
import { TaskQueues } from './task-queues';
import { TaskRegistry } from './task-registry';
import { TaskSubmitter } from './task-submitter.service';
import { TaskEvents } from './task-events';

/**
 * The task domain: registry and policies, status store, submission, queries and cancellation.
 * Both the API and the worker import it; it imports neither.
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [REDIS_CONFIG, REDIS_CLIENT],
      useFactory: (cfg: RedisConfig, client: Redis) => ({
        prefix: cfg.prefix,
        // The fail-fast command connection (503 instead of hanging), shared with the task store so a
        // task's record and its job leave in order on one socket (see TaskSubmitter.submit).
        connection: client as unknown as ConnectionOptions,
      }),
    }),
    BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
  ],
  providers: [
    { provide: TaskRegistry, inject: [APP_CONFIG], useFactory: (cfg: AppConfig) => TaskRegistry.fromConfig(cfg) },
    TaskStore,
    TaskQueues,
    TaskSubmitter,
    TaskQuery,
    TaskCancellation,
    RevocationBus,
    TaskEvents,
  ],
  exports: [TaskRegistry, TaskStore, TaskQueues, TaskSubmitter, TaskQuery, TaskCancellation, RevocationBus, TaskEvents],
})
export class TasksModule {}
