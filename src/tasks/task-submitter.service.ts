import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { fingerprint } from '../common/canonical-json.util';
import { withDeadline } from '../common/deadline.util';
import { SubmitOptions, TaskJobData, buildJobOptions } from './job-options';
import { TaskStore } from './store/task-store';
import { TaskRecord } from './store/task-record';
import { TaskQueues } from './task-queues';
import { TaskRegistry } from './task-registry';
import { TaskStatus } from './task-status';
import { TaskEvents } from './task-events';
import { IdempotencyConflictError, StoreUnavailableError, TaskNotFoundError } from './task.errors';

export const QUEUE_CALL_DEADLINE_MS = 3000;

export interface SubmitRequest {
  taskName: string;
  payload: unknown;
  options?: SubmitOptions & { idempotencyKey?: string };
}

export interface SubmitResult {
  created: boolean;
  task: Pick<TaskRecord, 'id' | 'taskName' | 'queue' | 'status' | 'submittedAt'>;
}

@Injectable()
export class TaskSubmitter {
  private readonly logger = new Logger(TaskSubmitter.name);

  constructor(
    private readonly registry: TaskRegistry,
    private readonly store: TaskStore,
    private readonly queues: TaskQueues,
    private readonly events: TaskEvents,
  ) {}

  /**
   * Validates, records and queues one task. The record is written first so the task is visible
   * (and cancellable) as soon as a worker can take it; if queueing fails the record is undone.
   */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const type = this.registry.get(req.taskName);
    this.registry.validatePayload(type, req.payload);

    const id = randomUUID();
    const submittedAt = Date.now();
    const idemKey = req.options?.idempotencyKey;
    const print = idemKey === undefined ? '' : fingerprint({ task_name: req.taskName, payload: req.payload });
    const created = await this.store.create({
      id,
      taskName: type.name,
      queue: type.policy.queue,
      submittedAt,
      maxRetries: type.policy.maxRetries,
      ttlSeconds: type.policy.resultExpires,
      idempotency: idemKey === undefined ? undefined : { key: idemKey, value: `${id}:${print}` },
    });
    if (!created.created) return this.existing(created.existing, print);

    const data: TaskJobData = { task_name: type.name, payload: req.payload };
    try {
      await withDeadline(
        this.queues.get(type.policy.queue).add(type.name, data, buildJobOptions(type, id, req.options)),
        QUEUE_CALL_DEADLINE_MS,
        () => new StoreUnavailableError('Redis did not accept the job in time'),
      );
    } catch (err) {
      await this.store.discard(id, idemKey).catch((e: Error) => {
        this.logger.error(`Task record left without a job task_id=${id} error=${e.message}`);
      });
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`Could not queue the task: ${(err as Error).message}`);
    }
    this.events.emit('submitted', { taskId: id, taskName: type.name, queue: type.policy.queue });
    return { created: true, task: { id, taskName: type.name, queue: type.policy.queue, status: TaskStatus.Pending, submittedAt } };
  }

  private async existing(value: string, print: string): Promise<SubmitResult> {
    const sep = value.indexOf(':');
    const taskId = value.slice(0, sep);
    if (value.slice(sep + 1) !== print) throw new IdempotencyConflictError(taskId);
    const record = await this.store.get(taskId);
    if (!record) throw new TaskNotFoundError(taskId);
    return { created: false, task: record };
  }
}
