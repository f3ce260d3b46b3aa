import type { ResultSchema, SchemaType } from '../payload-schema';

const location = {
  type: 'object',
  properties: {
    lat: { type: 'number', minimum: -90, maximum: 90, example: 52.3685 },
    lon: { type: 'number', minimum: -180, maximum: 180, example: 4.8924 },
  },
  required: ['lat', 'lon'],
  additionalProperties: false,
} as const;

const count = (description: string) => ({ type: 'integer', minimum: 0, description }) as const;

/** What `automated_gather_creation` returns; the invariants it keeps are in DESIGN.md and the README. */
export const GATHER_RESULT_SCHEMA = {
  title: 'AutomatedGatherCreationResult',
  type: 'object',
  properties: {
    gatherings: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          members: { type: 'array', items: { type: 'string' }, description: 'Participant ids, in payload order', example: ['u1', 'u2', 'u3'] },
          slot: { type: 'string', description: 'A slot every member is available in', example: 'sat-18' },
          center: location,
          radius_km: { type: 'number', minimum: 0, description: 'Haversine distance from center to the farthest member, at most max_distance_km', example: 0.642 },
          shared_interests: {
            type: 'array',
            items: { type: 'string' },
            description: 'Interests held by at least two members, most widely held first',
            example: ['chess'],
          },
          score: { type: 'number', minimum: 0, maximum: 1, description: 'Half interest overlap, half tightness', example: 0.7679 },
        },
        required: ['members', 'slot', 'center', 'radius_km', 'shared_interests', 'score'],
        additionalProperties: false,
      },
    },
    unassigned: {
      type: 'array',
      description: 'Every participant not in a gathering, with the reason',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', example: 'u4' },
          reason: { type: 'string', enum: ['no_common_slot', 'too_far', 'group_too_small', 'time_limit'] },
        },
        required: ['id', 'reason'],
        additionalProperties: false,
      },
    },
    partial: { type: 'boolean', description: 'True when the soft time limit cut the work short; the invariants hold anyway' },
    stats: {
      type: 'object',
      properties: {
        participants: count('Participants in the payload'),
        gatherings: count('Gatherings formed'),
        assigned: count('Participants in a gathering'),
        iterations: count('Units of work done'),
      },
      required: ['participants', 'gatherings', 'assigned', 'iterations'],
      additionalProperties: false,
    },
  },
  required: ['gatherings', 'unassigned', 'partial', 'stats'],
  additionalProperties: false,
} as const satisfies ResultSchema;

export type GatherResult = SchemaType<typeof GATHER_RESULT_SCHEMA>;
