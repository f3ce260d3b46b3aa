/** Public types of the supervised child pool. Nothing here depends on BullMQ, Redis or NestJS. */
import type { LogEvent } from '../../common/log-event';

/** Nest's Logger fits; a message is plain text or an event with its fields (see logEvent). */
export interface PoolLogger {
  log(message: string | LogEvent): void;
  warn(message: string | LogEvent): void;
  error(message: string | LogEvent): void;
  debug?(message: string | LogEvent): void;
}

export interface ChildPoolOptions {
  /** Children that run tasks, one task each at a time (prefetch 1). */
  size: number;
  /** Replace a child after this many tasks; 0 = no limit. */
  maxTasksPerChild: number;
  /** RSS limit per child in KiB (Celery's unit); 0 = no limit. */
  maxMemoryKiB: number;
  /** Between SIGTERM and SIGKILL when a running task is cancelled. */
  cancelGraceMs: number;
  /** How often a busy child's RSS is sampled; default 100. */
  memorySampleMs?: number;
  /** Idle children forked ahead, so a retired child is replaced without waiting for a fork; default 1. */
  spareChildren?: number;
  /** A child that has not reported ready by then failed to start; default 10 000. */
  startTimeoutMs?: number;
  /** Niceness (0..19) of the children, so the supervisor's timers preempt busy ones; default 10, 0 = the parent's. */
  childNiceness?: number;
  /** Also fork through `setpriv --pdeathsig SIGKILL` when it exists; default true. */
  parentDeathSignal?: boolean;
  /** Module the children run; default child/child.main next to this file (.ts under Jest, .js built). */
  childEntry?: string;
  logger?: PoolLogger;
}

export interface PoolTask {
  taskId: string;
  taskName: string;
  payload: unknown;
  attempt: number;
  /** 0, negative or non-finite: no soft limit. */
  softLimitMs: number;
  /** 0, negative or non-finite: no hard limit. */
  hardLimitMs: number;
}

/**
 * What a run reports while it runs, on one channel; its outcome is what `run()` resolves to.
 * `started`: handed to the child with this pid, the time limits count from here. `soft_limit`: the
 * soft limit passed and the handler's signal aborted.
 */
export type RunNews =
  | { kind: 'started'; pid: number }
  | { kind: 'progress'; pct: number; message: string | undefined }
  | { kind: 'soft_limit' };

export interface RunHooks {
  onNews?(news: RunNews): void;
}

export interface TaskErrorInfo {
  /** The thrown error's `name`, e.g. `Error`, `NonRetryableTaskError`. */
  type: string;
  message: string;
}

/**
 * How a run ended. `durationMs` runs from hand-over to the result, to the SIGKILL for the kinds the
 * pool kills outright (time_limit, memory_limit, shutdown), or to the child's exit. `pid` and
 * `durationMs` are null only for a task that never reached a child.
 */
export type RunOutcome =
  | { kind: 'completed'; result: unknown; pid: number; durationMs: number }
  | { kind: 'failed'; error: TaskErrorInfo; retryable: boolean; pid: number; durationMs: number }
  /** The hard limit passed and the child was SIGKILLed: TimeLimitExceeded. */
  | { kind: 'time_limit'; pid: number; durationMs: number }
  /** The child's RSS passed the limit mid-task and it was SIGKILLed: MemoryLimitExceeded. */
  | { kind: 'memory_limit'; pid: number; durationMs: number; rssBytes: number }
  /** The child died on its own mid-task: WorkerLostError. */
  | { kind: 'crashed'; exitCode: number | null; signal: NodeJS.Signals | null; pid: number; durationMs: number }
  | { kind: 'cancelled'; pid: number | null; durationMs: number | null }
  /** The pool closed before the task finished; put it back without using an attempt. */
  | { kind: 'shutdown'; pid: number | null; durationMs: number | null };

export type RunOutcomeKind = RunOutcome['kind'];

export type RecycleReason = 'max_tasks' | 'max_memory' | 'crashed' | 'time_limit' | 'cancelled';

export interface SlotInfo {
  slot: number;
  /** Null while the slot's child is starting or being replaced. */
  pid: number | null;
  busy: boolean;
  taskId: string | null;
  rssBytes: number;
  tasksRun: number;
}

export interface RecycledEvent {
  pid: number;
  slot: number;
  reason: RecycleReason;
}

export interface ChildReadyEvent {
  pid: number;
  /** From fork to the child's ready message. */
  startupMs: number;
}

export interface ChildStartFailedEvent {
  /** The slot, or null for a spare. */
  slot: number | null;
  error: Error;
  /** Consecutive failures of this slot (or spare). */
  failures: number;
  retryInMs: number;
}

export interface ChildPoolEvents {
  recycled: [RecycledEvent];
  softLimit: [{ taskId: string; pid: number }];
  hardLimit: [{ taskId: string; pid: number }];
  childReady: [ChildReadyEvent];
  childStartFailed: [ChildStartFailedEvent];
}

export class ChildStartError extends Error {
  override name = 'ChildStartError';
}
