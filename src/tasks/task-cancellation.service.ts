import { Inject, Injectable } from '@nestjs/common';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { RevocationBus } from './revocation.bus';
import { TaskLedger } from './lifecycle/task-ledger';
import { TaskStatus } from './task-status';
import { TaskNotCancellableError, TaskNotFoundError } from './task.errors';
import { isTaskId } from './task-id.util';
import { TaskTransitions } from './lifecycle/task-transitions';

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
  constructor(
    private readonly ledger: TaskLedger,
    private readonly bus: RevocationBus,
    private readonly transitions: TaskTransitions,
    @Inject(WORKER_CONFIG) private readonly worker: WorkerConfig,
  ) {}

  async cancel(taskId: string): Promise<CancelOutcome> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(taskId);
    const result = await this.ledger.cancel(taskId, Date.now());
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
      case 'cancelled': {
        // Taken out of BullMQ's waiting structures in the same script: no worker can take it now.
        this.transitions.cancelledWaiting({ taskId, taskName: result.taskName, queue: result.queue });
        return {
          kind: 'cancelled',
          previous: result.previous,
          cancelledAt: result.cancelledAt,
          message: CANCEL_MESSAGES[result.previous as TaskStatus.Pending | TaskStatus.Retrying],
        };
      }
      case 'running':
        return this.terminate(taskId);
    }
  }

  private async terminate(taskId: string): Promise<CancelOutcome> {
    const waitMs = (this.worker.cancelGrace + 2) * 1000;
    const confirmed = await this.bus.awaitConfirmation(taskId, waitMs, async () => (await this.bus.revoke(taskId)) > 0);
    const record = confirmed ? await this.ledger.get(taskId) : null;
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
