import { Inject, Injectable, Logger } from '@nestjs/common';
import { Job, MinimalJob, UnrecoverableError, WaitingError } from 'bullmq';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { RevocationBus } from '../tasks/revocation.bus';
import { FinishInput, TaskStore } from '../tasks/store/task-store';
import { TaskErrorInfo } from '../tasks/store/task-record';
import { TaskJobData } from '../tasks/job-options';
import { TaskRegistry, TaskType } from '../tasks/task-registry';
import { TaskPolicy, retryDelayMs } from '../tasks/task-policy';
import { TaskStatus } from '../tasks/task-status';
import { WorkerLostError } from '../tasks/task.errors';
import { ChildPool } from './pool/child-pool';
import { RunOutcome } from './pool/pool.types';
import { Semaphore } from './semaphore';
import { TaskEventBase, TaskEvents } from '../tasks/task-events';
import { WORKER_TASK_STORE } from './worker-redis';

const MISSING_RECORD_RETRIES = 3;
const MISSING_RECORD_WAIT_MS = 50;

/** A job this worker holds: prefetched and waiting for a child, being handed over, or running. */
interface Held {
  cancelRequested: boolean;
  base: TaskEventBase;
}

/** Thrown to BullMQ so it records the failure; its name is the error type users see. */
class RunFailure extends Error {
  constructor(info: TaskErrorInfo) {
    super(info.message);
    this.name = info.type;
  }
}

/**
 * Runs BullMQ jobs in the child pool and moves their status records. It never runs task code
 * itself, so a CPU-bound task cannot starve the lock renewal of the BullMQ Worker in this process.
 */
@Injectable()
export class TaskRunner {
  private readonly logger = new Logger(TaskRunner.name);
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly held = new Map<string, Held>();
  private readonly children: Semaphore;
  /** Retry delays chosen by `process`, read back by BullMQ's backoffStrategy for the same job. */
  private readonly chosenDelays = new Map<string, number>();
  private draining = false;

  constructor(
    private readonly pool: ChildPool,
    @Inject(WORKER_TASK_STORE) private readonly store: TaskStore,
    private readonly registry: TaskRegistry,
    private readonly bus: RevocationBus,
    private readonly events: TaskEvents,
    @Inject(WORKER_CONFIG) worker: WorkerConfig,
  ) {
    this.children = new Semaphore(worker.concurrency);
  }

  /** The BullMQ backoffStrategy: the delay `process` chose and recorded as next_retry_at. */
  backoff = (attemptsMade: number, job?: MinimalJob): number => {
    const chosen = job?.id === undefined ? undefined : this.chosenDelays.get(job.id);
    if (chosen !== undefined) {
      this.chosenDelays.delete(job!.id!);
      return chosen;
    }
    const policy = job ? this.registry.find(job.name)?.policy : undefined;
    return policy ? retryDelayMs(policy, attemptsMade) : 0;
  };

  get heldTaskIds(): string[] {
    return [...this.held.keys()];
  }

  /** Stop handing new jobs to children: they go back to the queue (see process). */
  drain(): void {
    this.draining = true;
  }

  /** A revocation broadcast: terminate the task if this worker holds it. */
  async revoke(taskId: string): Promise<void> {
    const held = this.held.get(taskId);
    if (!held) return;
    held.cancelRequested = true;
    await this.pool.cancel(taskId);
  }

  /** The pool aborted the task's signal: log it (the seed's pattern) and count it. */
  softLimitReached(taskId: string): void {
    const held = this.held.get(taskId);
    this.logger.warn(`Task soft time limit exceeded task_id=${taskId}`);
    if (held) this.events.emit('timeLimit', { ...held.base, kind: 'soft' });
  }

  async process(job: Job<TaskJobData>, token?: string): Promise<void> {
    const taskId = job.id!;
    this.held.set(taskId, { cancelRequested: false, base: { taskId, taskName: job.data.task_name, queue: job.queueName } });
    try {
      await this.children.acquire();
      try {
        await this.runHeld(job, token);
      } finally {
        this.children.release();
      }
    } finally {
      this.held.delete(taskId);
    }
  }

  private async runHeld(job: Job<TaskJobData>, token?: string): Promise<void> {
    const taskId = job.id!;
    const type = this.registry.find(job.data.task_name);
    const base = this.held.get(taskId)!.base;
    if (this.draining) return this.requeue(job, token);

    const now = Date.now();
    const runId = randomUUID();
    let start = await this.store.start(taskId, now, runId, this.workerId);
    // The API sends a record and its job back to back; only if Redis had lost its script cache can
    // the job land first (ioredis then resends the record as EVAL). Give the record a moment.
    for (let i = 1; start.kind === 'missing' && i <= MISSING_RECORD_RETRIES; i++) {
      await delay(MISSING_RECORD_WAIT_MS * i);
      start = await this.store.start(taskId, now, runId, this.workerId);
    }
    switch (start.kind) {
      case 'missing':
        throw new UnrecoverableError('Task record not found (expired or discarded)');
      case 'final':
        // Delivered again after it finished (for example after a stall): never run it twice.
        if (start.status === TaskStatus.Completed) return;
        throw new UnrecoverableError(`Task is already ${start.status}`);
      case 'revoked':
        this.logger.warn(`Task revoked task_id=${taskId} terminated=false`);
        this.events.emit('revoked', { ...base, terminated: false });
        throw new UnrecoverableError('TaskCancelled');
      case 'lost':
        // The previous run died with its whole worker. It counts as an attempt, retried with backoff.
        return this.fail(job, base, type?.policy, { type: WorkerLostError.name, message: 'Worker lost while running the task' }, true, null);
      case 'started':
        break;
    }
    if (!type) {
      return this.fail(job, base, undefined, { type: 'UnknownTaskType', message: `No handler for ${job.data.task_name}` }, false, null);
    }

    this.logger.log(`Task started task_id=${taskId} task_name=${type.name}`);
    // Queue wait counts from when the task became runnable: submission (plus delay) or its retry time.
    const readyAt = start.dueAt ?? job.timestamp + (job.opts.delay ?? 0);
    this.events.emit('started', { ...base, queueWaitSeconds: Math.max(0, now - readyAt) / 1000 });

    const held = this.held.get(taskId)!;
    // No await between this check and pool.run: a revocation that arrives while the task is being
    // handed over either sees the run registered in the pool, or is seen here.
    const outcome = held.cancelRequested
      ? ({ kind: 'cancelled' } as RunOutcome)
      : await this.pool.run(
          {
            taskId,
            taskName: type.name,
            payload: job.data.payload,
            attempt: start.attempts,
            softLimitMs: type.policy.softTimeLimit * 1000,
            hardLimitMs: type.policy.timeLimit * 1000,
          },
          { onProgress: (pct, message) => void this.store.progress(taskId, runId, pct, message ?? '').catch(() => undefined) },
        );
    return this.settle(job, token, base, type, outcome, now);
  }

  private async settle(job: Job<TaskJobData>, token: string | undefined, base: TaskEventBase, type: TaskType, outcome: RunOutcome, startedAt: number): Promise<void> {
    const taskId = base.taskId;
    const now = Date.now();
    const runtime = (now - startedAt) / 1000;
    switch (outcome.kind) {
      case 'completed': {
        this.record(taskId, {
          to: TaskStatus.Completed,
          now,
          fields: { result: JSON.stringify(outcome.result ?? null), finished_at: now, duration: runtime, progress: 100 },
          stats: { completed: 1, [`duration_count:${type.name}`]: 1 },
          sums: { [`duration_sum:${type.name}`]: runtime },
          outcome: 'ok',
        });
        this.logger.log(`Task completed task_id=${taskId} duration=${runtime.toFixed(3)} state=SUCCESS`);
        this.events.emit('succeeded', { ...base, runtimeSeconds: runtime });
        return;
      }
      case 'cancelled': {
        await this.store.finish(taskId, {
          to: TaskStatus.Cancelled,
          now,
          fields: { cancelled_at: now, finished_at: now, duration: runtime },
          stats: { cancelled: 1 },
        });
        await this.bus.confirm(taskId).catch(() => undefined);
        this.logger.warn(`Task revoked task_id=${taskId} terminated=true`);
        this.events.emit('revoked', { ...base, terminated: true });
        throw new UnrecoverableError('TaskCancelled');
      }
      case 'shutdown':
        return this.requeue(job, token, true);
      case 'time_limit':
        this.events.emit('timeLimit', { ...base, kind: 'hard' });
        return this.fail(job, base, type.policy, { type: 'TimeLimitExceeded', message: `Task exceeded its time limit of ${type.policy.timeLimit}s` }, true, runtime);
      case 'memory_limit':
        return this.fail(job, base, type.policy, { type: 'MemoryLimitExceeded', message: 'Task exceeded the memory limit of its child process' }, true, runtime);
      case 'crashed':
        return this.fail(job, base, type.policy, { type: WorkerLostError.name, message: `Child process exited (code=${outcome.exitCode} signal=${outcome.signal})` }, true, runtime);
      case 'failed':
        return this.fail(job, base, type.policy, outcome.error, outcome.retryable, runtime);
    }
  }

  /** Records a failed run as retrying (with the delay BullMQ will use) or failed, then tells BullMQ. */
  private async fail(
    job: Job<TaskJobData>,
    base: TaskEventBase,
    policy: TaskPolicy | undefined,
    error: TaskErrorInfo,
    retryable: boolean,
    runtime: number | null,
  ): Promise<never> {
    const taskId = base.taskId;
    const now = Date.now();
    const retry = job.attemptsMade + 1; // this failure is BullMQ attempt number `retry`
    const canRetry = retryable && policy !== undefined && retry < (job.opts.attempts ?? 1);
    const errorJson = JSON.stringify({ type: error.type, message: error.message.slice(0, 2000) });
    if (canRetry) {
      const delay = retryDelayMs(policy, retry);
      this.chosenDelays.set(taskId, delay);
      this.record(taskId, {
        to: TaskStatus.Retrying,
        now,
        fields: { error: errorJson, next_retry_at: now + delay, finished_at: now, ...(runtime === null ? {} : { duration: runtime }) },
        stats: { retried: 1 },
      });
      this.logger.warn(`Task retry scheduled task_id=${taskId} reason=${error.type} attempt=${retry}`);
      this.events.emit('retried', { ...base, exception: error.type, runtimeSeconds: runtime });
      throw new RunFailure(error);
    }
    this.record(taskId, {
      to: TaskStatus.Failed,
      now,
      fields: { error: errorJson, finished_at: now, ...(runtime === null ? {} : { duration: runtime }) },
      stats: { failed: 1 },
      outcome: 'fail',
    });
    this.logger.error(`Task failed task_id=${taskId} exception=${error.type}`);
    this.events.emit('failed', { ...base, exception: error.type, runtimeSeconds: runtime });
    throw new UnrecoverableError(`${error.type}: ${error.message}`);
  }

  /**
   * Sends a run's final transition without waiting for it: on the connection the worker shares with
   * BullMQ it leaves in the same write as the BullMQ move that follows, and Redis applies it first.
   * Were the worker to die before that write, the job stalls and its next run is counted as lost.
   */
  private record(taskId: string, input: FinishInput): void {
    this.store.coalesceWrites();
    this.store.finish(taskId, input).catch((err: Error) => this.logger.error(`Status update failed task_id=${taskId} error=${err.message}`));
  }

  /** Puts a job back in the queue without using an attempt (graceful shutdown). */
  private async requeue(job: Job<TaskJobData>, token: string | undefined, started = false): Promise<never> {
    if (started) {
      await this.store.finish(job.id!, { to: TaskStatus.Pending, now: Date.now(), fields: {}, stats: {} });
    }
    await job.moveToWait(token);
    throw new WaitingError();
  }

  /** BullMQ failed a job without running it (stalled too often): the run was lost. */
  async recordLost(job: Job<TaskJobData>, reason: string): Promise<void> {
    const now = Date.now();
    const result = await this.store.finish(job.id!, {
      to: TaskStatus.Failed,
      now,
      fields: { error: JSON.stringify({ type: WorkerLostError.name, message: reason }), finished_at: now },
      stats: { failed: 1 },
      outcome: 'fail',
    });
    if (result.kind === 'ok') {
      this.logger.error(`Task failed task_id=${job.id} exception=${WorkerLostError.name}`);
      this.events.emit('failed', { taskId: job.id!, taskName: job.data.task_name, queue: job.queueName, exception: WorkerLostError.name, runtimeSeconds: null });
    }
  }
}
