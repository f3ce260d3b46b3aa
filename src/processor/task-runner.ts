import { Inject, Injectable } from '@nestjs/common';
import { Job, WaitingError } from 'bullmq';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { Run, TaskTransitions } from '../tasks/lifecycle/task-transitions';
import { RETRIED_AT_OPT, sluiceQueueName } from '../tasks/lifecycle/task-keys';
import { TaskJobData } from '../tasks/job-options';
import { TaskRegistry, TaskType } from '../tasks/task-registry';
import { MemoryLimitExceeded, TaskError, TimeLimitExceeded, UnknownTaskNameError, WorkerLostError } from '../tasks/task.errors';
import { TaskErrorInfo } from '../tasks/lifecycle/task-record';
import { ChildPool } from './pool/child-pool';
import { RunNews, RunOutcome } from './pool/pool.types';
import { Semaphore } from './semaphore';
import { SluiceWorker } from './sluice-worker';
import { timeLimitsOf } from '../tasks/task-limits';

/**
 * What every processor call ends with (see process). One instance: BullMQ only matches it by class,
 * and building an Error per task captured a stack trace each time (4 % of the worker's CPU on
 * no-op tasks).
 */
const MOVED = new WaitingError();

/** A failure as the task's error shows it: the class name is its type. */
const info = (e: TaskError): TaskErrorInfo => ({ type: e.name, message: e.message });

/** A job this worker holds: prefetched and waiting for a child, being handed over, or running. */
interface Held extends Run {
  cancelRequested: boolean;
}

/**
 * Runs BullMQ jobs in the child pool and maps each run's news and outcome to a transition
 * (lifecycle/task-transitions.ts), which moves the job itself with the run's lock token. The
 * processor then ends with a WaitingError, telling BullMQ that nothing is left to move. It never
 * runs task code itself, so a CPU-bound task cannot starve the lock renewal of the BullMQ Worker.
 */
@Injectable()
export class TaskRunner {
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly held = new Map<string, Held>();
  private readonly children: Semaphore;
  private draining = false;

  constructor(
    private readonly pool: ChildPool,
    private readonly transitions: TaskTransitions,
    private readonly registry: TaskRegistry,
    @Inject(WORKER_CONFIG) worker: WorkerConfig,
  ) {
    this.children = new Semaphore(worker.concurrency);
  }

  /** BullMQ's backoffStrategy. */
  backoff = (err: Error | undefined): number => this.transitions.backoff(err);

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
      this.transitions.superseded(held);
      void this.pool.cancel(id).catch(() => undefined);
    }
  }

  /**
   * The BullMQ processor. It always ends with WaitingError: the job has been moved, or is not ours.
   * `worker` takes the next job that the final move fetched (see SluiceWorker).
   */
  async process(job: Job<TaskJobData>, token: string | undefined, worker?: SluiceWorker<TaskJobData>): Promise<never> {
    const taskId = job.id!;
    const held: Held = {
      base: { taskId, taskName: job.name, queue: sluiceQueueName(job.queueName) },
      token: token ?? '',
      cancelRequested: false,
      superseded: false,
      settling: false,
      next:
        worker && token
          ? { allowed: () => !this.draining && worker.mayFetchNext, handOver: (moved) => worker.handOver(token, moved) }
          : undefined,
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
    throw MOVED;
  }

  private async runHeld(job: Job<TaskJobData>, held: Held): Promise<void> {
    if (held.superseded) return;
    if (this.draining) return this.transitions.requeue(held, job);
    const type = this.registry.find(job.name);
    if (job.stalledCounter > 0) {
      // The previous run was lost with its worker (BullMQ's stalled check put the job back). It
      // counts as an attempt, retried with backoff; this pickup accounts for it and runs nothing.
      return this.transitions.fail(held, job, type?.policy, info(new WorkerLostError('Worker lost while running the task')), true, null);
    }
    if (!type) return this.transitions.fail(held, job, undefined, info(new UnknownTaskNameError(job.name, this.registry.names())), false, null);

    const startedAt = job.processedOn ?? Date.now();
    // The submission may have lowered its type's limits (options.time_limit, soft_time_limit).
    const limits = timeLimitsOf(type.policy, job.opts);
    // A series an operator retried became runnable when it was retried (lifecycle/lua/retry.lua).
    const retriedAt = (job.opts as Record<string, unknown>)[RETRIED_AT_OPT] as number | undefined;
    const runnableSince = retriedAt ?? job.timestamp + (job.opts.delay ?? 0);
    this.transitions.started(held, job.attemptsMade === 0 ? Math.max(0, startedAt - runnableSince) / 1000 : null);
    // No await between this check and pool.run: a revocation that arrives while the task is being
    // handed over either sees the run registered in the pool, or is seen here.
    const outcome = held.cancelRequested
      ? ({ kind: 'cancelled' } as RunOutcome)
      : await this.pool.run(
          {
            taskId: held.base.taskId,
            taskName: type.name,
            payload: job.data.payload,
            attempt: job.attemptsMade + 1,
            softLimitMs: limits.softTimeLimit * 1000,
            hardLimitMs: limits.timeLimit * 1000,
          },
          { onNews: (news) => this.report(held, news) },
        );
    return this.settle(job, held, type, outcome, (Date.now() - startedAt) / 1000);
  }

  private report(held: Held, news: RunNews): void {
    if (held.superseded) return;
    if (news.kind === 'progress') this.transitions.progress(held, news.pct, news.message);
    else if (news.kind === 'soft_limit') this.transitions.softLimit(held);
  }

  private settle(job: Job<TaskJobData>, held: Held, type: TaskType, outcome: RunOutcome, runtime: number): Promise<void> {
    const t = this.transitions;
    const policy = type.policy;
    switch (outcome.kind) {
      case 'completed':
        return t.complete(held, job, outcome.result, runtime);
      case 'cancelled':
        return t.cancelled(held, job);
      case 'shutdown':
        return t.requeue(held, job);
      case 'time_limit':
        t.hardLimit(held);
        return t.fail(held, job, policy, info(new TimeLimitExceeded(`Task exceeded its time limit of ${timeLimitsOf(policy, job.opts).timeLimit}s`)), true, runtime);
      case 'memory_limit':
        return t.fail(held, job, policy, info(new MemoryLimitExceeded('Task exceeded the memory limit of its child process')), true, runtime);
      case 'crashed':
        return t.fail(held, job, policy, info(new WorkerLostError(`Child process exited (code=${outcome.exitCode} signal=${outcome.signal})`)), true, runtime);
      case 'failed':
        return t.fail(held, job, policy, outcome.error, outcome.retryable, runtime);
    }
  }
}
