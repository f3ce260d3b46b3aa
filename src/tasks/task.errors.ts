/**
 * Named errors of the task domain. The names double as the `error.type` a client sees and as the
 * `exception` label in metrics, so they must stay stable.
 */
export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The soft time limit passed; a handler may finish, clean up or throw. */
export class SoftTimeLimitExceeded extends TaskError {}
/** The hard time limit passed and the child was killed. */
export class TimeLimitExceeded extends TaskError {}
/** The child's RSS passed WORKER_MAX_MEMORY_PER_CHILD while it ran the task. */
export class MemoryLimitExceeded extends TaskError {}
/** The child, or the whole worker, died while running the task. */
export class WorkerLostError extends TaskError {}
/** The task was revoked. */
export class TaskCancelled extends TaskError {}
/** Thrown by a handler to fail its task at once, without retries. */
export class NonRetryableTaskError extends TaskError {}

export class TaskNotFoundError extends TaskError {
  constructor(readonly taskId: string) {
    super('Task not found');
  }
}
export class UnknownTaskNameError extends TaskError {
  constructor(
    readonly taskName: string,
    readonly known: string[],
  ) {
    super(`Unknown task_name '${taskName}'. Known task names: ${known.join(', ')}`);
  }
}
export class InvalidPayloadError extends TaskError {
  constructor(readonly problems: string[]) {
    super(`Invalid payload: ${problems.join('; ')}`);
  }
}
export class IdempotencyConflictError extends TaskError {
  constructor(readonly taskId: string) {
    super(`idempotency_key was already used for task ${taskId} with a different task_name or payload`);
  }
}
export class TaskNotCancellableError extends TaskError {}
/** A submission asked for more than its type allows (options.time_limit and the like): a 422 that names the cap. */
export class LimitAboveCapError extends TaskError {}
/** A submission's own limits contradict each other. */
export class InvalidLimitsError extends TaskError {}
/** options.callback_url is not one Sluice may call (CALLBACK_ALLOWED_HOSTS): a 422. */
export class CallbackUrlRefusedError extends TaskError {}
/** Redis did not answer; the API maps this to 503. */
export class StoreUnavailableError extends TaskError {}
/**
 * A submission reached Redis, or may have, but no reply came: it may or may not have been applied.
 * Submission is one atomic script per task, so it was applied whole or not at all, and a retry with
 * the same idempotency_key finds the task if it was.
 */
export class OutcomeUnknownError extends StoreUnavailableError {
  constructor(cause: string) {
    super(`Redis did not answer in time, so the outcome is unknown: the task may or may not have been accepted. A retry with the same idempotency_key is safe. (${cause})`);
  }
}
export class InvalidPolicyError extends TaskError {}
export class DuplicateTaskTypeError extends TaskError {}
