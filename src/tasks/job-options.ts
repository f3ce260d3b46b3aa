import { JobsOptions } from 'bullmq';
import { TaskType } from './task-registry';

/** The BullMQ job data of a task. */
export interface TaskJobData {
  task_name: string;
  payload: unknown;
}

/** Name of the custom backoff strategy that every worker registers (see lifecycle/retry-decision). */
export const SLUICE_BACKOFF = 'sluice';

export interface SubmitOptions {
  priority?: number;
  delaySeconds?: number;
}

/** All of a task's BullMQ options come from its type's policy, here and nowhere else. */
export function buildJobOptions(type: TaskType, opts: SubmitOptions = {}): JobsOptions {
  const options: JobsOptions = {
    attempts: type.policy.maxRetries + 1,
    backoff: { type: SLUICE_BACKOFF },
    // Sluice's reaper removes finished jobs after TASK_RESULT_EXPIRES, indexes and all, in one
    // script (lifecycle/lua/reap.lua); BullMQ's own age trimming would leave the indexes behind.
    removeOnComplete: false,
    removeOnFail: false,
  };
  if (opts.priority !== undefined) options.priority = opts.priority;
  if (opts.delaySeconds !== undefined && opts.delaySeconds > 0) options.delay = Math.round(opts.delaySeconds * 1000);
  return options;
}
