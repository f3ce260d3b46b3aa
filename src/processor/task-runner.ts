import { Inject, Injectable, Logger } from '@nestjs/common';
import { Job, WaitingError } from 'bullmq';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { RevocationBus } from '../tasks/revocation.bus';
import { TaskLedger } from '../tasks/lifecycle/task-ledger';
import { TaskErrorInfo } from '../tasks/lifecycle/task-record';
import { RetryDecision, backoffFor, decideRetry } from '../tasks/lifecycle/retry-decision';
import { RunSupersededError, classifyMoveError } from '../tasks/lifecycle/run-superseded';
import { sluiceQueueName } from '../tasks/lifecycle/task-keys';
import { TaskJobData } from '../tasks/job-options';
import { TaskRegistry, TaskType } from '../tasks/task-registry';
import { TaskPolicy } from '../tasks/task-policy';
import { WorkerLostError } from '../tasks/task.errors';
import { ChildPool } from './pool/child-pool';
import { RunOutcome } from './pool/pool.types';
import { Semaphore } from './semaphore';
import { TaskEventBase, TaskEvents } from '../tasks/task-events';

/** A job this worker holds: prefetched and waiting for a child, being handed over, or running. */
interface Held {
  base: TaskEventBase;
  token: string;
  cancelRequested: boolean;
  /** The run lost its lock: another run owns the task now, so this one may change nothing. */
  superseded: boolean;
  /** The run's final move has been sent: a lock-renewal failure after this is expected. */
  settling: boolean;
}

/**
 * Thrown into BullMQ's moveToFailed. Its message becomes the job's failedReason, `Type: message`,
 * and it carries the retry decision, which the backoffStrategy hands to BullMQ.
 */
class RunFailure extends Error {
  constructor(
    info: TaskErrorInfo,
    readonly decision: RetryDecision,
  ) {
    super(`${info.type}: ${info.message.slice(0, 2000)}`);
    this.name = info.type;
  }
}

const CANCELLED: TaskErrorInfo = { type: 'TaskCancelled', message: 'Task was cancelled' };

/**
 * Runs BullMQ jobs in the child pool. It moves each job itself (moveToCompleted, moveToFailed,
 * moveToWait), always with the run's lock token, and then tells BullMQ, by a WaitingError, that
 * nothing is left to move: so it knows for certain whether its run's outcome was written, and logs
 * and counts only what was. Sluice's half of every move happens inside BullMQ's script
 * (lifecycle-scripts.ts). It never runs task code itself, so a CPU-bound task cannot starve the
 * lock renewal of the BullMQ Worker in this process.
 */
@Injectable()
export class TaskRunner {
  private readonly logger = new Logger(TaskRunner.name);
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly held = new Map<string, Held>();
  private readonly children: Semaphore;
  private draining = false;

  constructor(
    private readonly pool: ChildPool,
    private readonly ledger: TaskLedger,
    private readonly registry: TaskRegistry,
    private readonly bus: RevocationBus,
    private readonly events: TaskEvents,
    @Inject(WORKER_CONFIG) worker: WorkerConfig,
  ) {
    this.children = new Semaphore(worker.concurrency);
  }

  /** BullMQ's backoffStrategy: the delay decided with the failure (see decideRetry). */
  backoff = (err: Error | undefined): number => backoffFor(err instanceof RunFailure ? err.decision : undefined);

  /** Held tasks by queue, for the revocation poll. */
  heldByQueue(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, h] of this.held) out.set(h.base.queue, [...(out.get(h.base.queue) ?? []), id]);
    return out;
  }

  /** Stop handing new jobs to children: they go back to the queue (see process). */
  drain(): void {
    this.draining = true;
  }

  /** A revocation: terminate the task if this worker holds it. */
  async revoke(taskId: string): Promise<void> {
    const held = this.held.get(taskId);
    if (!held || held.cancelRequested) return;
    held.cancelRequested = true;
    await this.pool.cancel(taskId);
  }

  /** BullMQ could not renew these locks: another run may own the task, so stop this one. */
  lockLost(taskIds: string[]): void {
    for (const id of taskIds) {
      const held = this.held.get(id);
      if (!held || held.settling) continue;
      this.supersede(held);
      void this.pool.cancel(id).catch(() => undefined);
    }
  }

  /** The pool aborted the task's signal: log it (the seed's pattern) and count it. */
  softLimitReached(taskId: string): void {
    const held = this.held.get(taskId);
    this.logger.warn(`Task soft time limit exceeded task_id=${taskId}`);
    if (held) this.events.emit('timeLimit', { ...held.base, kind: 'soft' });
  }

  /** The BullMQ processor. It always ends with WaitingError: the job has been moved, or is not ours. */
  async process(job: Job<TaskJobData>, token?: string): Promise<never> {
    const taskId = job.id!;
    const held: Held = {
      base: { taskId, taskName: job.name, queue: sluiceQueueName(job.queueName) },
      token: token ?? '',
      cancelRequested: false,
      superseded: false,
      settling: false,
    };
    this.held.set(taskId, held);
    try {
      await this.children.acquire();
      try {
        await this.runHeld(job, held);
      } finally {
        this.children.release();
      }
    } finally {
      this.held.delete(taskId);
    }
    throw new WaitingError();
  }

  private async runHeld(job: Job<TaskJobData>, held: Held): Promise<void> {
    const { base } = held;
    if (held.superseded) return;
    if (this.draining) return this.requeue(job, held);
    const type = this.registry.find(job.name);
    if (job.stalledCounter > 0) {
      // The previous run was lost with its worker (BullMQ's stalled check put the job back). It
      // counts as an attempt, retried with backoff; this pickup accounts for it and runs nothing.
      return this.fail(job, held, type?.policy, { type: WorkerLostError.name, message: 'Worker lost while running the task' }, true, null);
    }
    if (!type) return this.fail(job, held, undefined, { type: 'UnknownTaskType', message: `No handler for ${job.name}` }, false, null);

    this.logger.log(`Task started task_id=${base.taskId} task_name=${type.name}`);
    const startedAt = job.processedOn ?? Date.now();
    const queueWait = job.attemptsMade === 0 ? Math.max(0, startedAt - job.timestamp - (job.opts.delay ?? 0)) / 1000 : null;
    this.events.emit('started', { ...base, queueWaitSeconds: queueWait });

    // No await between this check and pool.run: a revocation that arrives while the task is being
    // handed over either sees the run registered in the pool, or is seen here.
    const outcome = held.cancelRequested
      ? ({ kind: 'cancelled' } as RunOutcome)
      : await this.pool.run(
          {
            taskId: base.taskId,
            taskName: type.name,
            payload: job.data.payload,
            attempt: job.attemptsMade + 1,
            softLimitMs: type.policy.softTimeLimit * 1000,
            hardLimitMs: type.policy.timeLimit * 1000,
          },
          {
            onProgress: (pct, message) =>
              void this.ledger.progress(base.queue, base.taskId, held.token, pct, message ?? '').catch(() => undefined),
          },
        );
    return this.settle(job, held, type, outcome, (Date.now() - startedAt) / 1000);
  }

  private async settle(job: Job<TaskJobData>, held: Held, type: TaskType, outcome: RunOutcome, runtime: number): Promise<void> {
    const { base } = held;
    if (held.superseded) return;
    switch (outcome.kind) {
      case 'completed':
        if (!(await this.move(held, () => job.moveToCompleted(outcome.result ?? null, held.token, false)))) return;
        this.logger.log(`Task completed task_id=${base.taskId} duration=${runtime.toFixed(3)} state=SUCCESS`);
        this.events.emit('succeeded', { ...base, runtimeSeconds: runtime });
        return;
      case 'cancelled':
        if (!(await this.move(held, () => job.moveToFailed(new RunFailure(CANCELLED, { retry: false }), held.token, false)))) return;
        await this.bus.confirm(base.taskId).catch(() => undefined);
        this.logger.warn(`Task revoked task_id=${base.taskId} terminated=true`);
        this.events.emit('revoked', { ...base, terminated: true });
        return;
      case 'shutdown':
        return this.requeue(job, held);
      case 'time_limit':
        this.events.emit('timeLimit', { ...base, kind: 'hard' });
        return this.fail(job, held, type.policy, { type: 'TimeLimitExceeded', message: `Task exceeded its time limit of ${type.policy.timeLimit}s` }, true, runtime);
      case 'memory_limit':
        return this.fail(job, held, type.policy, { type: 'MemoryLimitExceeded', message: 'Task exceeded the memory limit of its child process' }, true, runtime);
      case 'crashed':
        return this.fail(job, held, type.policy, { type: WorkerLostError.name, message: `Child process exited (code=${outcome.exitCode} signal=${outcome.signal})` }, true, runtime);
      case 'failed':
        return this.fail(job, held, type.policy, outcome.error, outcome.retryable, runtime);
    }
  }

  /** A failed run: retried after the decided delay, or failed for good. */
  private async fail(job: Job<TaskJobData>, held: Held, policy: TaskPolicy | undefined, error: TaskErrorInfo, retryable: boolean, runtime: number | null): Promise<void> {
    const { base } = held;
    const decision = decideRetry({ attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1, retryable, policy });
    if (!(await this.move(held, () => job.moveToFailed(new RunFailure(error, decision), held.token, false)))) return;
    if (decision.retry) {
      this.logger.warn(`Task retry scheduled task_id=${base.taskId} reason=${error.type} attempt=${decision.attempt}`);
      this.events.emit('retried', { ...base, exception: error.type, runtimeSeconds: runtime });
    } else {
      this.logger.error(`Task failed task_id=${base.taskId} exception=${error.type}`);
      this.events.emit('failed', { ...base, exception: error.type, runtimeSeconds: runtime });
    }
  }

  /** Puts a job back in the queue without using an attempt (graceful shutdown). */
  private async requeue(job: Job<TaskJobData>, held: Held): Promise<void> {
    await this.move(held, () => job.moveToWait(held.token));
  }

  /**
   * Sends a run's final move. False when Redis refused it because the run no longer holds the
   * task's lock: the script wrote nothing, so nothing is logged or counted for it.
   */
  private async move(held: Held, send: () => Promise<unknown>): Promise<boolean> {
    held.settling = true;
    try {
      await send();
      return true;
    } catch (err) {
      const e = classifyMoveError(err);
      if (!(e instanceof RunSupersededError)) throw e;
      this.supersede(held);
      return false;
    }
  }

  private supersede(held: Held): void {
    if (held.superseded) return;
    held.superseded = true;
    this.logger.warn(`Task run superseded task_id=${held.base.taskId} run=${held.token}`);
  }
}
