import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/configuration';
import { TaskLedger } from './lifecycle/task-ledger';
import { TaskReaper } from './lifecycle/task-reaper';
import { TaskTransitions } from './lifecycle/task-transitions';
import { RevocationBus } from './revocation.bus';
import { TaskCancellation } from './task-cancellation.service';
import { TaskQuery } from './task-query.service';
import { TaskQueues } from './task-queues';
import { TaskRegistry } from './task-registry';
import { TaskSubmitter } from './task-submitter.service';
import { TaskEvents } from './task-events';

/**
 * The task domain: registry and policies, the task lifecycle (one truth per task: its BullMQ job),
 * submission, queries and cancellation. Both the API and the worker import it; it imports neither.
 */
@Module({
  providers: [
    { provide: TaskRegistry, inject: [APP_CONFIG], useFactory: (cfg: AppConfig) => TaskRegistry.fromConfig(cfg) },
    TaskQueues,
    TaskLedger,
    TaskReaper,
    TaskTransitions,
    TaskSubmitter,
    TaskQuery,
    TaskCancellation,
    RevocationBus,
    TaskEvents,
  ],
  exports: [TaskRegistry, TaskQueues, TaskLedger, TaskTransitions, TaskSubmitter, TaskQuery, TaskCancellation, RevocationBus, TaskEvents],
})
export class TasksModule {}
