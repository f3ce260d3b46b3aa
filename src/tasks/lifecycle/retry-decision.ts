import { TaskPolicy, retryDelayMs } from '../task-policy';

export type RetryDecision = { retry: true; attempt: number; delayMs: number } | { retry: false };

export interface FailedRun {
  /** Runs of this task that already ended (BullMQ's attemptsMade), not counting this one. */
  attemptsMade: number;
  /** BullMQ's attempts: max_retries + 1. */
  maxAttempts: number;
  /** Cancellations, unknown task types and NonRetryableTaskError are never retried. */
  retryable: boolean;
  /** Undefined for a task type this worker does not know. */
  policy: TaskPolicy | undefined;
}

/**
 * Whether a failed run is retried, and after how long: the only place this is decided. The worker
 * hands the decision to BullMQ with the error (see TaskRunner), and its backoffStrategy returns
 * the delay chosen here, so what the logs and counters say is what BullMQ does.
 */
export function decideRetry(run: FailedRun, random: () => number = Math.random): RetryDecision {
  const attempt = run.attemptsMade + 1;
  if (!run.retryable || run.policy === undefined || attempt >= run.maxAttempts) return { retry: false };
  return { retry: true, attempt, delayMs: retryDelayMs(run.policy, attempt, random) };
}

/** What BullMQ's backoffStrategy returns for a decision: -1 tells it not to retry. */
export const backoffFor = (decision: RetryDecision | undefined): number => (decision?.retry ? decision.delayMs : -1);
