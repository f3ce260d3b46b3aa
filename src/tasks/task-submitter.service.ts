import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CallbackUrlPolicy } from '../callbacks/callback-url';
import { fingerprint } from '../common/canonical-json.util';
import { taskDataText } from '../common/task-data-text';
import { CALLBACK_CONFIG } from '../config/config.module';
import { CallbackConfig } from '../config/configuration';
import { SubmitOptions, buildJobOptions } from './job-options';
import { SubmitSpec, TaskLedger } from './lifecycle/task-ledger';
import { RequestedLimits, resolveLimits } from './task-limits';
import { TaskRecord } from './lifecycle/task-record';
import { TaskRegistry, TaskType } from './task-registry';
import { TaskStatus } from './task-status';
import { TaskEvents } from './task-events';
import { idempotentTaskId } from './task-id.util';
import { IdempotencyConflictError, TaskError, TaskNotFoundError } from './task.errors';

export interface SubmitRequest {
  taskName: string;
  payload: unknown;
  /** The label of the API key that submitted it. */
  submittedBy?: string;
  options?: SubmitOptions & { idempotencyKey?: string; limits?: RequestedLimits; callbackUrl?: string };
}

export interface SubmitResult {
  created: boolean;
  task: Pick<TaskRecord, 'id' | 'taskName' | 'queue' | 'status' | 'submittedAt'>;
}

interface Prepared {
  index: number;
  type: TaskType;
  spec: SubmitSpec;
  idempotent: boolean;
}

/**
 * Validates and submits tasks. Each task is one atomic script (see lifecycle/lua/add-job.lua):
 * there is nothing to undo when Redis fails half way, because there is no half way.
 */
@Injectable()
export class TaskSubmitter {
  private readonly callbacks: CallbackUrlPolicy;

  constructor(
    private readonly registry: TaskRegistry,
    private readonly ledger: TaskLedger,
    private readonly events: TaskEvents,
    @Inject(CALLBACK_CONFIG) callbackConfig: CallbackConfig,
  ) {
    this.callbacks = new CallbackUrlPolicy(callbackConfig);
  }

  /** Validates and submits one task; its error is thrown. */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const [result] = await this.submitMany([req]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * Items fail one by one (validation, idempotency) with their error in place of a result; Redis
   * failing fails them all (StoreUnavailableError, or OutcomeUnknownError when the outcome is unknown).
   */
  async submitMany(reqs: SubmitRequest[]): Promise<(SubmitResult | TaskError)[]> {
    const results: (SubmitResult | TaskError | undefined)[] = new Array(reqs.length);
    const byQueue = new Map<string, Prepared[]>();
    const now = Date.now();
    reqs.forEach((req, index) => {
      try {
        const p = this.prepare(req, index, now);
        const list = byQueue.get(p.spec.queue);
        if (list) list.push(p);
        else byQueue.set(p.spec.queue, [p]);
      } catch (err) {
        if (!(err instanceof TaskError)) throw err;
        results[index] = err;
      }
    });
    await Promise.all(
      [...byQueue].map(async ([queue, items]) => {
        const replies = await this.ledger.submit(
          queue,
          items.map((p) => p.spec),
        );
        await Promise.all(
          items.map(async (p, i) => {
            const r = replies[i];
            results[p.index] = r.created ? this.accepted(p) : await this.existing(p, r.fingerprint).catch((err: TaskError) => err);
          }),
        );
      }),
    );
    return results as (SubmitResult | TaskError)[];
  }

  /** Throws the item's TaskError when its task_name or payload is invalid. */
  private prepare(req: SubmitRequest, index: number, timestamp: number): Prepared {
    const type = this.registry.get(req.taskName);
    this.registry.validatePayload(type, req.payload);
    const limits = resolveLimits(type.name, type.policy, req.options?.limits);
    const callbackUrl = req.options?.callbackUrl === undefined ? '' : this.callbacks.check(req.options.callbackUrl).href;
    const key = req.options?.idempotencyKey;
    const queue = type.policy.queue;
    return {
      index,
      type,
      idempotent: key !== undefined,
      spec: {
        id: key === undefined ? randomUUID() : idempotentTaskId(queue, key),
        queue,
        taskName: type.name,
        dataJson: taskDataText(req.payload) ?? JSON.stringify({ task_name: type.name, payload: req.payload }),
        opts: buildJobOptions(type, req.options, limits),
        timestamp,
        fingerprint: key === undefined ? '' : fingerprint({ task_name: req.taskName, payload: req.payload }),
        ttlSeconds: type.policy.resultExpires,
        submittedBy: req.submittedBy ?? '',
        callbackUrl,
      },
    };
  }

  private accepted(p: Prepared): SubmitResult {
    const { id, queue, timestamp } = p.spec;
    this.events.emit('submitted', { taskId: id, taskName: p.type.name, queue });
    return { created: true, task: { id, taskName: p.type.name, queue, status: TaskStatus.Pending, submittedAt: timestamp } };
  }

  /** The key was used before on this queue: the same request gets the same task, another a 409. */
  private async existing(p: Prepared, storedFingerprint: string): Promise<SubmitResult> {
    const id = p.spec.id;
    if (!p.idempotent || storedFingerprint !== p.spec.fingerprint) throw new IdempotencyConflictError(id);
    const record = await this.ledger.get(id);
    if (!record) throw new TaskNotFoundError(id);
    return { created: false, task: record };
  }
}
