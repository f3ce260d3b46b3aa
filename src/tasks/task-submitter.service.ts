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

interface Prepared {
  index: number;
  req: SubmitRequest;
  type: TaskType;
  input: CreateInput;
  print: string;
}

const jobData = (p: Prepared): TaskJobData => ({ task_name: p.type.name, payload: p.req.payload });

@Injectable()
export class TaskSubmitter {
  private readonly logger = new Logger(TaskSubmitter.name);

  constructor(
    private readonly registry: TaskRegistry,
    private readonly store: TaskStore,
    private readonly queues: TaskQueues,
    private readonly events: TaskEvents,
  ) {}

  /** Validates, records and queues one task; its error is thrown. */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    if (req.options?.idempotencyKey !== undefined) {
      const [result] = await this.submitMany([req]);
      if (result instanceof Error) throw result;
      return result;
    }
    const p = this.prepare(req, Date.now());
    const queue = p.type.policy.queue;
    // The record and the job travel on one connection, sent in this order without waiting for each
    // other: Redis creates the record first, so no worker can take a job whose record is missing,
    // and the request costs one round trip, and one socket write, instead of two.
    this.store.coalesceWrites();
    const [created, queued] = await Promise.allSettled([
      this.store.create(p.input),
      this.queue(queue, () => this.queues.get(queue).add(p.type.name, jobData(p), buildJobOptions(p.type, p.input.id, p.req.options))),
    ]);
    if (created.status === 'fulfilled' && queued.status === 'fulfilled') return this.accepted(p);
    if (queued.status === 'fulfilled') await this.queues.get(queue).remove(p.input.id).catch(() => undefined);
    if (created.status === 'fulfilled') await this.undo([p]);
    const err = created.status === 'rejected' ? created.reason : (queued as PromiseRejectedResult).reason;
    throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`Could not queue the task: ${(err as Error).message}`);
  }

  /**
   * Validates, records and queues many tasks: the records are written first (one pipeline), so a
   * task is visible (and cancellable) as soon as a worker can take it, then the jobs go to BullMQ in
   * one `addBulk` per queue; if queueing fails, the records are undone. Items fail one by one
   * (validation, idempotency) with their error in place of a result; Redis failing fails them all.
   */
  async submitMany(reqs: SubmitRequest[]): Promise<(SubmitResult | TaskError)[]> {
    const results: (SubmitResult | TaskError | undefined)[] = new Array(reqs.length);
    const prepared: Prepared[] = [];
    const submittedAt = Date.now();
    reqs.forEach((req, index) => {
      try {
        prepared.push({ ...this.prepare(req, submittedAt), index });
      } catch (err) {
        if (!(err instanceof TaskError)) throw err;
        results[index] = err;
      }
    });

    const created = await this.store.createMany(prepared.map((p) => p.input));
    const fresh: Prepared[] = [];
    for (const [i, p] of prepared.entries()) {
      const c = created[i];
      if (c.created) fresh.push(p);
      else results[p.index] = await this.existing(c.existing, p.print).catch((err: TaskError) => err);
    }

    const byQueue = new Map<string, Prepared[]>();
    for (const p of fresh) byQueue.set(p.type.policy.queue, [...(byQueue.get(p.type.policy.queue) ?? []), p]);
    await Promise.all(
      [...byQueue].map(async ([queue, items]) => {
        const jobs = items.map((p) => ({ name: p.type.name, data: jobData(p), opts: buildJobOptions(p.type, p.input.id, p.req.options) }));
        try {
          await this.queue(queue, () => this.queues.get(queue).addBulk(jobs));
        } catch (err) {
          await this.undo(items);
          throw err;
        }
        for (const p of items) results[p.index] = this.accepted(p);
      }),
    );
    return results as (SubmitResult | TaskError)[];
  }

  /** Throws the item's TaskError when its task_name or payload is invalid. */
  private prepare(req: SubmitRequest, submittedAt: number): Prepared {
    const type = this.registry.get(req.taskName);
    this.registry.validatePayload(type, req.payload);
    const id = randomUUID();
    const idemKey = req.options?.idempotencyKey;
    const print = idemKey === undefined ? '' : fingerprint({ task_name: req.taskName, payload: req.payload });
    return {
      index: 0,
      req,
      type,
      print,
      input: {
        id,
        taskName: type.name,
        queue: type.policy.queue,
        submittedAt,
        maxRetries: type.policy.maxRetries,
        ttlSeconds: type.policy.resultExpires,
        idempotency: idemKey === undefined ? undefined : { key: idemKey, value: `${id}:${print}` },
      },
    };
  }

  private async queue<T>(queue: string, add: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(add(), QUEUE_CALL_DEADLINE_MS, () => new StoreUnavailableError('Redis did not accept the job in time'));
    } catch (err) {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`Could not queue on ${queue}: ${(err as Error).message}`);
    }
  }

  private async undo(items: Prepared[]): Promise<void> {
    await Promise.all(items.map((p) => this.store.discard(p.input.id, p.input.idempotency?.key))).catch((e: Error) =>
      this.logger.error(`Task records left without jobs count=${items.length} error=${e.message}`),
    );
  }

  private accepted(p: Prepared): SubmitResult {
    const queue = p.type.policy.queue;
    this.events.emit('submitted', { taskId: p.input.id, taskName: p.type.name, queue });
    return { created: true, task: { id: p.input.id, taskName: p.type.name, queue, status: TaskStatus.Pending, submittedAt: p.input.submittedAt } };
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
