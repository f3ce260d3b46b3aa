import { TaskStatus } from '../task-status';

export interface TaskErrorInfo {
  type: string;
  message: string;
}

/** A task's status record as kept in Redis, parsed. Times are epoch milliseconds. */
export interface TaskRecord {
  id: string;
  taskName: string;
  queue: string;
  status: TaskStatus;
  seq: number;
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
  cancelRequestedAt: number | null;
  nextRetryAt: number | null;
  runId: string | null;
}

const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
const json = (v: string | undefined): unknown => (v === undefined || v === '' ? null : JSON.parse(v));

export function parseRecord(id: string, h: Record<string, string>): TaskRecord {
  return {
    id,
    taskName: h.task_name,
    queue: h.queue,
    status: h.status as TaskStatus,
    seq: Number(h.seq),
    progress: Number(h.progress ?? 0),
    progressMessage: h.progress_message || null,
    attempts: Number(h.attempts ?? 0),
    maxRetries: Number(h.max_retries ?? 0),
    submittedAt: Number(h.submitted_at),
    startedAt: num(h.started_at),
    finishedAt: num(h.finished_at),
    duration: num(h.duration),
    result: json(h.result),
    error: json(h.error) as TaskErrorInfo | null,
    cancelledAt: num(h.cancelled_at),
    cancelRequestedAt: num(h.cancel_requested_at),
    nextRetryAt: num(h.next_retry_at),
    runId: h.run_id || null,
  };
}

/** Flat [k, v, k, v] reply to an object. */
export function pairsToObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}
