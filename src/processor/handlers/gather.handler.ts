import type { GatherPayload, GatherResult } from './gather/gather.types';
import type { TaskHandler } from './handler.types';

type GatherModule = typeof import('./gather/gather');
let gather: GatherModule | undefined;

/**
 * The algorithm is synchronous: it polls `softLimitHit()` because the abort signal cannot reach it.
 * Its modules load with the first gather task a child runs, not when the child starts: children
 * are recycled every WORKER_MAX_TASKS_PER_CHILD tasks, so their start-up is paid often.
 */
export const gatherHandler: TaskHandler<GatherPayload, GatherResult> = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  run: (payload, ctx) => (gather ??= require('./gather/gather') as GatherModule).createGatherings(payload, ctx),
};
