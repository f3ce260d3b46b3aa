import { Injectable, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { RevocationBus } from '../revocation.bus';
import { TaskEventBase, TaskEvents } from '../task-events';
import { TaskPolicy } from '../task-policy';
import { RetryDecision, backoffFor, decideRetry } from './retry-decision';
import { RunSupersededError, classifyMoveError } from './run-superseded';
import { TaskLedger } from './task-ledger';
import { CANCELLED_ERROR, TaskErrorInfo } from './task-record';
import { infoLogged, logEvent } from '../../common/log-event';

/** One run of a task, as a worker holds it. `token` is its BullMQ lock token: the fencing token. */
export interface Run {
  base: TaskEventBase;
  token: string;
  /** The run lost its lock: another run owns the task now, so this one may change nothing. */
  superseded: boolean;
  /** The run's final move has been sent: a lock-renewal failure after this is expected. */
  settling: boolean;
  /**
   * Whether the final move may take the next job in the same script, and where to hand that job
   * (the worker's loop runs it next, see SluiceWorker). Absent: moves fetch nothing.
   */
  next?: { allowed(): boolean; handOver(moved: unknown): void };
}

/**
 * Thrown into BullMQ's moveToFailed. Its message becomes the job's failedReason, `Type: message`,
 * and it carries the retry decision, which the backoffStrategy hands to BullMQ (see backoff).
 */
export class RunFailure extends Error {
  constructor(
    info: TaskErrorInfo,
    readonly decision: RetryDecision,
  ) {
    super(`${info.type}: ${info.message.slice(0, 2000)}`);
    this.name = info.type;
  }
}

/**
 * Every task transition with its side effects in this process: the BullMQ move (with the run's lock
 * token; Sluice's fields and counters move inside the same script, see lifecycle-scripts.ts), then,
 * only if Redis accepted it, the seed's log line and the event that Prometheus counts. A move that
 * Redis refuses because the run lost its lock writes nothing and logs one `Task run superseded`.
 * The worker's runner only maps a run's outcome to one of these.
 */
@Injectable()
export class TaskTransitions {
  private readonly logger = new Logger(TaskTransitions.name);

  constructor(
    private readonly ledger: TaskLedger,
    private readonly events: TaskEvents,
    private readonly bus: RevocationBus,
  ) {}

  /** BullMQ's backoffStrategy: the delay decided with the failure, or -1 (no retry). */
  backoff(err: Error | undefined): number {
    return backoffFor(err instanceof RunFailure ? err.decision : undefined);
  }

  started(run: Run, queueWaitSeconds: number | null): void {
    if (infoLogged()) this.logger.log(logEvent('Task started', { task_id: run.base.taskId, task_name: run.base.taskName }));
    this.events.emit('started', { ...run.base, queueWaitSeconds });
  }

  /** Fenced: the ledger refuses progress from a run that no longer holds the lock. */
  progress(run: Run, pct: number, message: string | undefined): void {
    void this.ledger.progress(run.base.queue, run.base.taskId, run.token, pct, message ?? '').catch(() => undefined);
  }

  softLimit(run: Run): void {
    this.logger.warn(logEvent('Task soft time limit exceeded', { task_id: run.base.taskId }));
    this.events.emit('timeLimit', { ...run.base, kind: 'soft' });
  }

  hardLimit(run: Run): void {
    this.events.emit('timeLimit', { ...run.base, kind: 'hard' });
  }

  async complete(run: Run, job: Job, result: unknown, runtime: number): Promise<void> {
    if (!(await this.move(run, (fetch) => job.moveToCompleted(result ?? null, run.token, fetch)))) return;
    if (infoLogged()) this.logger.log(logEvent('Task completed', { task_id: run.base.taskId, duration: Number(runtime.toFixed(3)), state: 'SUCCESS' }));
    this.events.emit('succeeded', { ...run.base, runtimeSeconds: runtime });
  }

  /** A failed run: retried after the decided delay, or failed for good (decideRetry). */
  async fail(run: Run, job: Job, policy: TaskPolicy | undefined, error: TaskErrorInfo, retryable: boolean, runtime: number | null): Promise<void> {
    const decision = decideRetry({ attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1, retryable, policy });
    if (!(await this.move(run, (fetch) => job.moveToFailed(new RunFailure(error, decision), run.token, fetch)))) return;
    const { base } = run;
    if (decision.retry) {
      this.logger.warn(logEvent('Task retry scheduled', { task_id: base.taskId, reason: error.type, attempt: decision.attempt }));
      this.events.emit('retried', { ...base, exception: error.type, runtimeSeconds: runtime });
    } else {
      this.logger.error(logEvent('Task failed', { task_id: base.taskId, exception: error.type }));
      this.events.emit('failed', { ...base, exception: error.type, runtimeSeconds: runtime });
    }
  }

  /** A running task was terminated on request; the cancel request in its hash makes it `cancelled`. */
  async cancelled(run: Run, job: Job): Promise<void> {
    if (!(await this.move(run, (fetch) => job.moveToFailed(new RunFailure(CANCELLED_ERROR, { retry: false }), run.token, fetch)))) return;
    await this.bus.confirm(run.base.taskId).catch(() => undefined);
    this.logger.warn(logEvent('Task revoked', { task_id: run.base.taskId, terminated: true }));
    this.events.emit('revoked', { ...run.base, terminated: true });
  }

  /** A waiting task was cancelled by the API (lifecycle/lua/cancel.lua already moved it). */
  cancelledWaiting(base: TaskEventBase): void {
    this.logger.warn(logEvent('Task revoked', { task_id: base.taskId, terminated: false }));
    this.events.emit('revoked', { ...base, terminated: false });
  }

  /** Puts a job back in the queue without using an attempt (graceful shutdown). */
  async requeue(run: Run, job: Job): Promise<void> {
    await this.move(run, () => job.moveToWait(run.token), false);
  }

  superseded(run: Run): void {
    if (run.superseded) return;
    run.superseded = true;
    this.logger.warn(logEvent('Task run superseded', { task_id: run.base.taskId, run: run.token }));
  }

  /**
   * Sends a run's move. False when Redis refused it because the run no longer holds the task's
   * lock: the script then wrote nothing, so nothing is logged or counted for it.
   */
  private async move(run: Run, send: (fetchNext: boolean) => Promise<unknown>, mayFetch = true): Promise<boolean> {
    if (run.superseded) return false;
    run.settling = true;
    const fetch = mayFetch && (run.next?.allowed() ?? false);
    try {
      const moved = await send(fetch);
      if (fetch) run.next!.handOver(moved);
      return true;
    } catch (err) {
      const e = classifyMoveError(err);
      if (!(e instanceof RunSupersededError)) throw e;
      this.superseded(run);
      return false;
    }
  }
}
