/**
 * The types of `automated_gather_creation`, derived from its two schemas: the algorithm reads the
 * payload the API validated against one, and returns what the other describes.
 */
import type { GatherPayload } from './payload.schema';
import type { GatherResult } from './result.schema';

export type { GatherPayload, GatherResult };
export type GatherParticipant = GatherPayload['participants'][number];
export type GatherLocation = GatherParticipant['location'];
export type Gathering = GatherResult['gatherings'][number];
export type GatherUnassigned = GatherResult['unassigned'][number];
export type GatherUnassignedReason = GatherUnassigned['reason'];
