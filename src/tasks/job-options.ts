import { JobsOptions } from 'bullmq';
import { TaskLimits, limitOpts } from './task-limits';
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

/**
 * All of a task's BullMQ options come from its type's policy, lowered by its submission's limits
 * (see task-limits), here and nowhere else.
 */
export function buildJobOptions(type: TaskType, opts: SubmitOptions = {}, limits?: TaskLimits): JobsOptions {
  const options: JobsOptions = {
    attempts: (limits?.maxRetries ?? type.policy.maxRetries) + 1,
    ...(limits ? limitOpts(type.policy, limits) : {}),
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
