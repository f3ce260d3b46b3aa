import { TaskStatus } from '../task-status';
import { TaskCancelled } from '../task.errors';
import { LIMIT_OPTS, LimitOpts, TASK_FIELDS as F } from './task-keys';

export interface TaskErrorInfo {
  type: string;
  message: string;
}

/** A task as the API shows it, read from its BullMQ job hash. Times are epoch milliseconds. */
export interface TaskRecord {
  id: string;
  taskName: string;
  queue: string;
  status: TaskStatus;
  /** Position in the list indexes (see the add epilogue), the list cursor; 0 when not read from a list. */
  score: number;
  progress: number;
  progressMessage: string | null;
  attempts: number;
  maxRetries: number;
  submittedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  duration: number | null;
  result: unknown;
  error: TaskErrorInfo | null;
  cancelledAt: number | null;
  nextRetryAt: number | null;
  fingerprint: string | null;
  /** The label of the API key that submitted the task. */
  submittedBy: string | null;
  /** Earlier attempt series, oldest first; empty unless the task was retried. */
  attemptHistory: AttemptSeries[];
  /**
   * Time limits in seconds: those its submission lowered, read from the job's options; null where
   * the type's policy applies (TaskQuery fills those in from the registry).
   */
  timeLimit: number | null;
  softTimeLimit: number | null;
  /** The completion webhook, when the submission asked for one (options.callback_url). */
  callback: CallbackState | null;
}

/**
 * `waiting` until the task is final; then `pending` (due, or being delivered), and `delivered` or
 * `failed` (CALLBACK_MAX_ATTEMPTS spent, or its host no longer allowed).
 */
export type CallbackStatus = 'waiting' | 'pending' | 'delivered' | 'failed';

export interface CallbackState {
  status: CallbackStatus;
  /** Delivery attempts made so far. */
  attempts: number;
  /** Sent as X-Sluice-Delivery; the same across a delivery's retries. Null until the task is final. */
  deliveryId: string | null;
  lastError: string | null;
}

/**
 * One earlier attempt series of a task that was retried (POST /tasks/{id}/retry): how it ended, as
 * GET showed it just before the retry.
 */
export interface AttemptSeries {
  status: TaskStatus;
  error: TaskErrorInfo | null;
  attempts: number;
  /** When the series' last run started; null when it never ran. */
  startedAt: number | null;
  finishedAt: number | null;
  retriedAt: number;
  /** The label of the key that retried it. */
  retriedBy: string | null;
}

/** The job-hash fields a record is read from, in the order parseRecord expects them. */
export const RECORD_FIELDS = [
  'name',
  'timestamp',
  'processedOn',
  'finishedOn',
  'returnvalue',
  'failedReason',
  'atm',
  'opts',
  'progress',
  F.status,
  F.cancelledAt,
  F.nextRetryAt,
  F.lastRunFinishedAt,
  F.progressMessage,
  F.fingerprint,
  F.submittedBy,
  F.attemptHistory,
  F.callbackUrl,
  F.callbackStatus,
  F.callbackAttempts,
  F.callbackDelivery,
  F.callbackError,
] as const;

const FINAL: ReadonlySet<string> = new Set([TaskStatus.Completed, TaskStatus.Failed, TaskStatus.Cancelled]);
const num = (v: string | null): number | null => (v === null || v === '' ? null : Number(v));
/** A corrupt value throws: the API answers 500 rather than guess. */
const json = (v: string | null): unknown => (v === null || v === '' ? null : JSON.parse(v));

/** A cancelled task's error, as Lua writes it for a waiting task and the worker for a running one. */
export const CANCELLED_ERROR: TaskErrorInfo = { type: TaskCancelled.name, message: 'Task was cancelled' };

/** BullMQ's failedReason holds the error as `Type: message` (see RunFailure). */
export function parseFailedReason(reason: string | null): TaskErrorInfo | null {
  if (!reason) return null;
  const m = /^([A-Za-z_][\w.]*): ([\s\S]*)$/.exec(reason);
  return m ? { type: m[1], message: m[2] } : { type: 'Error', message: reason };
}

/**
 * A record from an HMGET of RECORD_FIELDS, or null when the task does not exist for the API: no
 * such job, a job that is not a Sluice task, or a finished task past its retention (`ttlSeconds`,
 * TASK_RESULT_EXPIRES of its queue).
 */
export function parseRecord(id: string, queue: string, values: (string | null)[], now: number, ttlSeconds: number, score = 0): TaskRecord | null {
  const h = Object.fromEntries(RECORD_FIELDS.map((f, i) => [f, values[i] ?? null])) as Record<(typeof RECORD_FIELDS)[number], string | null>;
  const status = h[F.status] as TaskStatus | null;
  if (!status || h.name === null) return null;
  const final = FINAL.has(status);
  const finishedOn = num(h.finishedOn);
  if (final && finishedOn !== null && finishedOn + ttlSeconds * 1000 <= now) return null;
  const startedAt = num(h.processedOn);
  const finishedAt = final ? (status === TaskStatus.Cancelled ? num(h[F.cancelledAt]) : finishedOn) : status === TaskStatus.Retrying ? num(h[F.lastRunFinishedAt]) : null;
  const opts = (json(h.opts) ?? {}) as { attempts?: number } & LimitOpts;
  const atm = Number(h.atm ?? 0);
  return {
    id,
    taskName: h.name,
    queue,
    status,
    score,
    // A completed task is at 100 %; BullMQ's field holds what the run last reported.
    progress: status === TaskStatus.Completed ? 100 : Number(json(h.progress) ?? 0),
    progressMessage: h[F.progressMessage] || null,
    attempts: atm + (status === TaskStatus.Processing ? 1 : 0),
    maxRetries: Math.max(0, (opts.attempts ?? 1) - 1),
    submittedAt: Number(h.timestamp),
    startedAt,
    finishedAt,
    duration: startedAt !== null && finishedAt !== null && finishedAt >= startedAt ? (finishedAt - startedAt) / 1000 : null,
    result: status === TaskStatus.Completed ? json(h.returnvalue) : null,
    error: status === TaskStatus.Failed || status === TaskStatus.Retrying ? parseFailedReason(h.failedReason) : null,
    cancelledAt: num(h[F.cancelledAt]),
    nextRetryAt: status === TaskStatus.Retrying ? num(h[F.nextRetryAt]) : null,
    fingerprint: h[F.fingerprint] || null,
    submittedBy: h[F.submittedBy] || null,
    attemptHistory: parseAttemptHistory(h[F.attemptHistory]),
    timeLimit: opts[LIMIT_OPTS.timeLimit] ?? null,
    softTimeLimit: opts[LIMIT_OPTS.softTimeLimit] ?? null,
    callback: h[F.callbackUrl]
      ? {
          status: (h[F.callbackStatus] as CallbackStatus | null) ?? 'waiting',
          attempts: Number(h[F.callbackAttempts] ?? 0),
          deliveryId: h[F.callbackDelivery] || null,
          lastError: h[F.callbackError] || null,
        }
      : null,
  };
}

/** The attempt history as lifecycle/lua/retry.lua writes it: a list of string-valued entries. */
function parseAttemptHistory(v: string | null): AttemptSeries[] {
  const entries = (json(v) ?? []) as Record<string, string>[];
  return entries.map((e) => ({
    status: e.status as TaskStatus,
    error: parseFailedReason(e.error || null),
    attempts: Number(e.attempts ?? 0),
    startedAt: num(e.started_at ?? null),
    finishedAt: num(e.finished_at ?? null),
    retriedAt: Number(e.retried_at),
    retriedBy: e.retried_by || null,
  }));
}
