import { createGatherings } from './gather/gather';
import type { GatherPayload, GatherResult } from './gather/gather.types';
import type { TaskHandler } from './handler.types';

/** The algorithm is synchronous: it polls `softLimitHit()` because the abort signal cannot reach it. */
export const gatherHandler: TaskHandler<GatherPayload, GatherResult> = {
  run: (payload, ctx) => createGatherings(payload, ctx),
};
