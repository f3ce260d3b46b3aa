/** API statuses; the Celery state each one corresponds to is in DESIGN.md. */
export enum TaskStatus {
  Pending = 'pending',
  Processing = 'processing',
  Retrying = 'retrying',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const TASK_STATUSES = Object.values(TaskStatus);

export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  TaskStatus.Completed,
  TaskStatus.Failed,
  TaskStatus.Cancelled,
]);
