import { Injectable, Logger } from '@nestjs/common';
import { logEvent } from '../../common/log-event';
import { TaskRecord } from '../lifecycle/task-record';
import { TaskEvents } from '../task-events';
import { isTaskId } from '../task-id.util';
import { TaskQuery } from '../task-query.service';
import { TaskNotFoundError } from '../task.errors';
import { OperatorLedger } from './operator-ledger';
import { TaskNotRetryableError } from './operator.errors';

/**
 * Re-queues a failed or cancelled task as a new attempt series (lifecycle/lua/retry.lua): one
 * script checks the status, appends the finished series to the task's attempt history, resets
 * Sluice's and BullMQ's run fields and moves the job from the failed set to the queue. Two retries
 * at once: the second finds it pending and gets 409.
 */
@Injectable()
export class TaskRetry {
  private readonly logger = new Logger(TaskRetry.name);

  constructor(
    private readonly ops: OperatorLedger,
    private readonly query: TaskQuery,
    private readonly events: TaskEvents,
  ) {}

  /** `by`: the label of the key that asked. Returns the task as GET shows it now. */
  async retry(taskId: string, by: string | undefined): Promise<TaskRecord> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(taskId);
    const r = await this.ops.retry(taskId, Date.now(), by ?? '');
    switch (r.kind) {
      case 'missing':
        throw new TaskNotFoundError(taskId);
      case 'refused':
        throw new TaskNotRetryableError(`Task is ${r.status}: only a failed or cancelled task can be retried`);
      case 'retried':
        this.logger.log(logEvent('Task retried', { task_id: taskId, previous_state: r.previous, key_label: by }));
        this.events.emit('requeued', { taskId, taskName: r.taskName, queue: r.queue, from: r.previous });
        return this.query.get(taskId);
    }
  }
}
