import { Inject, Injectable, Logger } from '@nestjs/common';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { RevocationBus } from './revocation.bus';
import { TaskStore } from './store/task-store';
import { TaskQueues } from './task-queues';
import { TaskRegistry } from './task-registry';
import { TaskStatus } from './task-status';
import { TaskNotCancellableError, TaskNotFoundError } from './task.errors';
import { isTaskId } from './task-id.util';
import { TaskEvents } from './task-events';

export type CancelOutcome =
  | { kind: 'cancelled'; previous: TaskStatus; cancelledAt: number; message: string }
  | { kind: 'cancelling'; previous: TaskStatus.Processing };

export const CANCEL_MESSAGES = {
  [TaskStatus.Pending]: 'Task was pending and has been removed from the queue',
  [TaskStatus.Retrying]: 'Task was waiting to retry and has been removed from the queue',
  [TaskStatus.Processing]: 'Task was running and has been terminated',
  [TaskStatus.Cancelled]: 'Task was already cancelled',
} as const;

/** Revokes tasks, following the seed's cancellation table. */
@Injectable()
export class TaskCancellation {
  private readonly logger = new Logger(TaskCancellation.name);

  constructor(
    private readonly store: TaskStore,
    private readonly queues: TaskQueues,
    private readonly registry: TaskRegistry,
    private readonly bus: RevocationBus,
    private readonly events: TaskEvents,
    @Inject(WORKER_CONFIG) private readonly worker: WorkerConfig,
  ) {}

  /** A revocation outlives the task's record by this much, so a run still going sees it. */
  private get longestTimeLimit(): number {
    return Math.max(...this.registry.all().map((t) => t.policy.timeLimit));
  }

  async cancel(taskId: string): Promise<CancelOutcome> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(taskId);
    const result = await this.store.cancel(taskId, Date.now(), this.longestTimeLimit);
    switch (result.kind) {
      case 'missing':
        throw new TaskNotFoundError(taskId);
      case 'final':
        if (result.status === TaskStatus.Completed) {
          throw new TaskNotCancellableError('Task has already completed successfully and cannot be cancelled');
        }
        if (result.status === TaskStatus.Failed) throw new TaskNotCancellableError('Task has already failed and cannot be cancelled');
        return {
          kind: 'cancelled',
          previous: TaskStatus.Cancelled,
          cancelledAt: result.cancelledAt ?? Date.now(),
          message: CANCEL_MESSAGES[TaskStatus.Cancelled],
        };
      case 'cancelled':
        // The status already says cancelled, so a worker that takes the job now discards it;
        // removing it spares that worker the trip. A locked (just-taken) job cannot be removed.
        await this.queues
          .get(result.queue)
          .remove(taskId)
          .catch((err: Error) => this.logger.warn(`Could not remove revoked job task_id=${taskId} error=${err.message}`));
        this.logger.warn(`Task revoked task_id=${taskId} terminated=false`);
        this.events.emit('revoked', { taskId, taskName: result.taskName, queue: result.queue, terminated: false });
        return {
          kind: 'cancelled',
          previous: result.previous,
          cancelledAt: result.cancelledAt,
          message: CANCEL_MESSAGES[result.previous as TaskStatus.Pending | TaskStatus.Retrying],
        };
      case 'running':
        return this.terminate(taskId);
    }
  }

  private async terminate(taskId: string): Promise<CancelOutcome> {
    const waitMs = (this.worker.cancelGrace + 2) * 1000;
    const confirmed = await this.bus.awaitConfirmation(taskId, waitMs, async () => (await this.bus.revoke(taskId)) > 0);
    const record = confirmed ? await this.store.get(taskId) : null;
    if (record?.status === TaskStatus.Cancelled) {
      return {
        kind: 'cancelled',
        previous: TaskStatus.Processing,
        cancelledAt: record.cancelledAt ?? Date.now(),
        message: CANCEL_MESSAGES[TaskStatus.Processing],
      };
    }
    return { kind: 'cancelling', previous: TaskStatus.Processing };
  }
}
