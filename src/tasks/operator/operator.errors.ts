import { TaskError } from '../task.errors';

/** Only a failed or cancelled task can be retried; the API maps this to 409. */
export class TaskNotRetryableError extends TaskError {}

/** No registered task type uses the queue; the API maps this to 404. */
export class QueueNotFoundError extends TaskError {
  constructor(
    readonly queue: string,
    known: string[],
  ) {
    super(`Queue '${queue}' not found. Known queues: ${known.join(', ')}`);
  }
}
