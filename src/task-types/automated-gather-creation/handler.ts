import type { TaskHandler } from '../handler.types';
import type { GatherPayload, GatherResult } from './gather.types';
import { createGatherings } from './solver/gather';

/** The algorithm is synchronous: it polls `softLimitHit()` because the abort signal cannot reach it. */
export const gatherHandler: TaskHandler<GatherPayload, GatherResult> = {
  run: (payload, ctx) => createGatherings(payload, ctx),
};
