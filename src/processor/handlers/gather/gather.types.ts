/**
 * Plain types for `automated_gather_creation`. The payload mirrors GatherPayloadDto
 * (src/tasks/definitions/gather.dto.ts) so the algorithm has no dependency on class-validator
 * or NestJS; validation has already happened when these values reach it.
 */

export interface GatherLocation {
  /** Degrees, -90..90. */
  lat: number;
  /** Degrees, -180..180. */
  lon: number;
}

export interface GatherParticipant {
  /** 1..128 characters, unique within a payload. */
  id: string;
  location: GatherLocation;
  /** Opaque slot names, compared for equality (at most 336). */
  availability: string[];
  /** At most 64. */
  interests: string[];
}

export interface GatherGroupSize {
  /** 2..1000. */
  min: number;
  /** min..1000. */
  max: number;
}

export interface GatherPayload {
  /** 1..100,000 participants. */
  participants: GatherParticipant[];
  group_size: GatherGroupSize;
  /** Largest distance of a member from its gathering's centre, in km (0.001..20,100). */
  max_distance_km?: number;
}

export interface Gathering {
  /** Participant ids, in payload order. */
  members: string[];
  /** A slot every member is available in. */
  slot: string;
  center: GatherLocation;
  /** Haversine distance from `center` to the farthest member, in km. */
  radius_km: number;
  /** Interests held by at least two members, most widely held first. */
  shared_interests: string[];
  /** 0..1; half interest cohesion, half tightness. */
  score: number;
}

export type GatherUnassignedReason = 'no_common_slot' | 'too_far' | 'group_too_small' | 'time_limit';

export interface GatherUnassigned {
  id: string;
  reason: GatherUnassignedReason;
}

export interface GatherStats {
  participants: number;
  gatherings: number;
  assigned: number;
  iterations: number;
}

export interface GatherResult {
  gatherings: Gathering[];
  unassigned: GatherUnassigned[];
  /** True when the soft time limit cut the work short; the invariants hold anyway. */
  partial: boolean;
  stats: GatherStats;
}
