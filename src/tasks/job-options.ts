import { JobsOptions } from 'bullmq';
import { TaskType } from './task-registry';

/** The BullMQ job data of a task; the status record lives in the task store. */
export interface TaskJobData {
  task_name: string;
  payload: unknown;
}

/** Name of the custom backoff strategy that every worker registers (see retryDelayMs). */
export const SLUICE_BACKOFF = 'sluice';

export interface SubmitOptions {
  priority?: number;
  delaySeconds?: number;
}

/** All of a task's BullMQ options come from its type's policy, here and nowhere else. */
export function buildJobOptions(type: TaskType, taskId: string, opts: SubmitOptions = {}): JobsOptions {
  // BullMQ keeps finished jobs as long as Sluice keeps their status records (seconds).
  const keepSeconds = type.policy.resultExpires;
  const options: JobsOptions = {
    jobId: taskId,
    attempts: type.policy.maxRetries + 1,
    backoff: { type: SLUICE_BACKOFF },
    removeOnComplete: { age: keepSeconds },
    removeOnFail: { age: keepSeconds },
  };
  if (opts.priority !== undefined) options.priority = opts.priority;
  if (opts.delaySeconds !== undefined && opts.delaySeconds > 0) options.delay = Math.round(opts.delaySeconds * 1000);
  return options;
}
