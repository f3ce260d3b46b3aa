import { LIMIT_OPTS, LimitOpts } from './lifecycle/task-keys';
import { TaskPolicy } from './task-policy';
import { InvalidLimitsError, LimitAboveCapError } from './task.errors';

/** What a submission may ask for in `options` (seconds; a whole number of retries). */
export interface RequestedLimits {
  timeLimit?: number;
  softTimeLimit?: number;
  maxRetries?: number;
}

/** The limits a task runs under: its type's policy, lowered by its submission. */
export interface TaskLimits {
  timeLimit: number;
  softTimeLimit: number;
  maxRetries: number;
}


/**
 * The limits of a submission, which may lower its type's policy, never raise it. A soft limit not
 * given stays the type's, but never above the hard limit asked for: a soft limit at the hard limit
 * does not fire before the kill (Celery's rule), so asking only for a short `time_limit` is enough.
 */
export function resolveLimits(taskName: string, policy: TaskPolicy, requested: RequestedLimits = {}): TaskLimits {
  const capped = (option: string, asked: number | undefined, cap: number, unit: string): number => {
    if (asked === undefined) return cap;
    if (asked > cap) throw new LimitAboveCapError(`options.${option} ${asked} is above the cap of ${taskName}: ${cap}${unit}; a submission may lower its type's limits, never raise them`);
    return asked;
  };
  const timeLimit = capped('time_limit', requested.timeLimit, policy.timeLimit, ' s');
  const softTimeLimit = capped('soft_time_limit', requested.softTimeLimit, policy.softTimeLimit, ' s');
  const maxRetries = capped('max_retries', requested.maxRetries, policy.maxRetries, '');
  if (requested.softTimeLimit !== undefined && requested.softTimeLimit > timeLimit) {
    throw new InvalidLimitsError(`options.soft_time_limit ${requested.softTimeLimit} is above the time_limit of ${timeLimit} s`);
  }
  return { timeLimit, softTimeLimit: Math.min(softTimeLimit, timeLimit), maxRetries };
}

/** The job options that carry limits lowered below the policy. */
export function limitOpts(policy: TaskPolicy, limits: TaskLimits): LimitOpts {
  const opts: LimitOpts = {};
  if (limits.timeLimit < policy.timeLimit) opts[LIMIT_OPTS.timeLimit] = limits.timeLimit;
  if (limits.softTimeLimit < policy.softTimeLimit) opts[LIMIT_OPTS.softTimeLimit] = limits.softTimeLimit;
  return opts;
}

/**
 * The time limits a stored task runs under: what its submission recorded, or its type's policy,
 * whichever is lower, so a policy lowered since the submission applies too.
 */
export function timeLimitsOf(policy: Pick<TaskPolicy, 'timeLimit' | 'softTimeLimit'>, opts: object): Pick<TaskLimits, 'timeLimit' | 'softTimeLimit'> {
  const o = opts as LimitOpts;
  const timeLimit = Math.min(policy.timeLimit, o[LIMIT_OPTS.timeLimit] ?? Infinity);
  return { timeLimit, softTimeLimit: Math.min(policy.softTimeLimit, o[LIMIT_OPTS.softTimeLimit] ?? Infinity, timeLimit) };
}

export { LIMIT_OPTS };
