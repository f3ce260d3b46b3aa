import { TaskPolicyConfig } from '../config/configuration';
import { InvalidPolicyError } from './task.errors';

/** The execution policy of one task type. Times in seconds. */
export interface TaskPolicy {
  /** A queue name; TASK_QUEUE_OVERRIDES may move a task type to a queue of its own. */
  queue: string;
  timeLimit: number;
  softTimeLimit: number;
  maxRetries: number;
  retryBackoff: number;
  retryBackoffMax: number;
  retryJitter: boolean;
  resultExpires: number;
}

/** The TASK_* defaults, then what the type fixes itself, on the queue it ends up on. */
export function policyFromConfig(queue: string, cfg: TaskPolicyConfig, own: Partial<TaskPolicyConfig> = {}): TaskPolicy {
  const fixed = Object.fromEntries(Object.entries(own).filter(([key, value]) => key !== 'queue' && value !== undefined));
  return { ...cfg, ...fixed, queue };
}

export function assertValidPolicy(name: string, p: TaskPolicy): void {
  const bad = (msg: string): never => {
    throw new InvalidPolicyError(`Task type ${name}: ${msg}`);
  };
  if (!(p.timeLimit > 0)) bad('timeLimit must be positive');
  if (!(p.softTimeLimit > 0 && p.softTimeLimit < p.timeLimit)) bad('softTimeLimit must be positive and below timeLimit');
  if (!Number.isInteger(p.maxRetries) || p.maxRetries < 0) bad('maxRetries must be a whole number >= 0');
  if (!(p.retryBackoff >= 0)) bad('retryBackoff must be >= 0');
  if (!(p.retryBackoffMax >= p.retryBackoff)) bad('retryBackoffMax must be >= retryBackoff');
  if (!(p.resultExpires > 0)) bad('resultExpires must be positive');
}

/**
 * Delay before retry number `retry` (1-based): countdown × 2^(retry−1), jittered by up to ±10%,
 * then capped, as Celery's retry_backoff/retry_backoff_max/retry_jitter. Milliseconds.
 */
export function retryDelayMs(p: TaskPolicy, retry: number, random: () => number = Math.random): number {
  let seconds = p.retryBackoff * 2 ** (retry - 1);
  if (p.retryJitter) seconds *= 1 + (random() * 2 - 1) * 0.1;
  return Math.round(Math.min(seconds, p.retryBackoffMax) * 1000);
}
