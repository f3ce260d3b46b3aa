import { TaskRecord } from '../tasks/lifecycle/task-record';
import { TaskStatusDto } from './dto/task-responses.dto';

let lastIso = { ms: NaN, text: '' };

function iso(ms: number | null): string | null {
  if (ms === null) return null;
  // The tasks of a batch, and POSTs of the same millisecond, share their submission time.
  if (ms !== lastIso.ms) lastIso = { ms, text: new Date(ms).toISOString() };
  return lastIso.text;
}

export function presentTask(r: TaskRecord): TaskStatusDto {
  return {
    task_id: r.id,
    task_name: r.taskName,
    queue: r.queue,
    status: r.status,
    progress: r.progress,
    attempts: r.attempts,
    max_retries: r.maxRetries,
    time_limit: r.timeLimit,
    soft_time_limit: r.softTimeLimit,
    submitted_at: iso(r.submittedAt)!,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_seconds: r.duration,
    result: r.result,
    error: r.error,
    cancelled_at: iso(r.cancelledAt),
    next_retry_at: iso(r.nextRetryAt),
    submitted_by: r.submittedBy,
    attempt_history: r.attemptHistory.map((a) => ({
      status: a.status,
      error: a.error,
      attempts: a.attempts,
      started_at: iso(a.startedAt),
      finished_at: iso(a.finishedAt),
      retried_at: iso(a.retriedAt)!,
      retried_by: a.retriedBy,
    })),
    callback: r.callback && { status: r.callback.status, attempts: r.callback.attempts, delivery_id: r.callback.deliveryId, last_error: r.callback.lastError },
  };
}

export { iso };
