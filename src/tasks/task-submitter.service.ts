import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { fingerprint } from '../common/canonical-json.util';
import { withDeadline } from '../common/deadline.util';
import { SubmitOptions, TaskJobData, buildJobOptions } from './job-options';
import { CreateInput, TaskStore } from './store/task-store';
import { TaskRecord } from './store/task-record';
import { TaskQueues } from './task-queues';
import { TaskRegistry, TaskType } from './task-registry';
import { TaskStatus } from './task-status';
import { TaskEvents } from './task-events';
import { IdempotencyConflictError, StoreUnavailableError, TaskError, TaskNotFoundError } from './task.errors';

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

  /** Validates, records and queues one task; its error is thrown (see submitMany). */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const [result] = await this.submitMany([req]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * Validates, records and queues many tasks: each record is written first, so a task is visible
   * (and cancellable) as soon as a worker can take it, then the jobs go to BullMQ in one `addBulk`
   * per queue; if queueing fails, the records are undone. Items fail one by one (validation,
   * idempotency) with their error in place of a result; Redis failing fails them all.
   */
  async submitMany(reqs: SubmitRequest[]): Promise<(SubmitResult | TaskError)[]> {
    const results: (SubmitResult | TaskError | undefined)[] = new Array(reqs.length);
    const prepared: { index: number; req: SubmitRequest; type: TaskType; input: CreateInput; print: string }[] = [];
    const submittedAt = Date.now();
    reqs.forEach((req, index) => {
      try {
        const type = this.registry.get(req.taskName);
        this.registry.validatePayload(type, req.payload);
        const id = randomUUID();
        const idemKey = req.options?.idempotencyKey;
        const print = idemKey === undefined ? '' : fingerprint({ task_name: req.taskName, payload: req.payload });
        const input: CreateInput = {
          id,
          taskName: type.name,
          queue: type.policy.queue,
          submittedAt,
          maxRetries: type.policy.maxRetries,
          ttlSeconds: type.policy.resultExpires,
          idempotency: idemKey === undefined ? undefined : { key: idemKey, value: `${id}:${print}` },
        };
        prepared.push({ index, req, type, input, print });
      } catch (err) {
        if (!(err instanceof TaskError)) throw err;
        results[index] = err;
      }
    });

    const created = await this.store.createMany(prepared.map((p) => p.input));
    const fresh: typeof prepared = [];
    for (const [i, p] of prepared.entries()) {
      const c = created[i];
      if (c.created) fresh.push(p);
      else results[p.index] = await this.existing(c.existing, p.print).catch((err: TaskError) => err);
    }

    const byQueue = new Map<string, typeof prepared>();
    for (const p of fresh) byQueue.set(p.type.policy.queue, [...(byQueue.get(p.type.policy.queue) ?? []), p]);
    await Promise.all(
      [...byQueue].map(async ([queue, items]) => {
        const jobs = items.map((p) => ({
          name: p.type.name,
          data: { task_name: p.type.name, payload: p.req.payload } satisfies TaskJobData,
          opts: buildJobOptions(p.type, p.input.id, p.req.options),
        }));
        try {
          await withDeadline(this.queues.get(queue).addBulk(jobs), QUEUE_CALL_DEADLINE_MS, () => new StoreUnavailableError('Redis did not accept the jobs in time'));
        } catch (err) {
          await Promise.all(items.map((p) => this.store.discard(p.input.id, p.input.idempotency?.key))).catch((e: Error) =>
            this.logger.error(`Task records left without jobs count=${items.length} error=${e.message}`),
          );
          throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`Could not queue the tasks: ${(err as Error).message}`);
        }
        for (const p of items) {
          this.events.emit('submitted', { taskId: p.input.id, taskName: p.type.name, queue });
          results[p.index] = {
            created: true,
            task: { id: p.input.id, taskName: p.type.name, queue, status: TaskStatus.Pending, submittedAt },
          };
        }
      }),
    );
    return results as (SubmitResult | TaskError)[];
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
