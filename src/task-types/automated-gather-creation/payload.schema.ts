import type { ObjectSchema, SchemaType } from '../payload-schema';

export const GATHER_MAX_PARTICIPANTS = 100_000;

const slotNames = (maxItems: number, example: string[], description?: string) =>
  ({ type: 'array', maxItems, example, description, items: { type: 'string', minLength: 1, maxLength: 64 } }) as const;

/** Payload of `automated_gather_creation`; the contract is in DESIGN.md. */
export const GATHER_PAYLOAD_SCHEMA = {
  title: 'AutomatedGatherCreationPayload',
  type: 'object',
  properties: {
    participants: {
      type: 'array',
      description: 'Participant ids are unique within a payload',
      minItems: 1,
      maxItems: GATHER_MAX_PARTICIPANTS,
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', minLength: 1, maxLength: 128, example: 'u1' },
          location: {
            type: 'object',
            properties: {
              lat: { type: 'number', minimum: -90, maximum: 90, example: 52.37 },
              lon: { type: 'number', minimum: -180, maximum: 180, example: 4.89 },
            },
            required: ['lat', 'lon'],
            additionalProperties: false,
          },
          availability: slotNames(336, ['sat-18', 'sun-11'], 'Opaque slot names, compared for equality'),
          interests: slotNames(64, ['chess', 'hiking']),
        },
        required: ['id', 'location', 'availability', 'interests'],
        additionalProperties: false,
      },
    },
    group_size: {
      type: 'object',
      description: 'max must not be below min',
      properties: {
        min: { type: 'integer', minimum: 2, maximum: 1000, example: 4 },
        max: { type: 'integer', minimum: 2, maximum: 1000, example: 8 },
      },
      required: ['min', 'max'],
      additionalProperties: false,
    },
    max_distance_km: { type: 'number', minimum: 0.001, maximum: 20_100, example: 10, description: 'Largest distance from a gathering centre, in km' },
  },
  required: ['participants', 'group_size'],
  additionalProperties: false,
} as const satisfies ObjectSchema;

export type GatherPayload = SchemaType<typeof GATHER_PAYLOAD_SCHEMA>;

/** What the schema cannot say; runs on a payload it accepted. */
export function checkGatherPayload(payload: GatherPayload): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const p of payload.participants) {
    if (seen.has(p.id)) {
      problems.push('payload.participants: must have unique ids');
      break;
    }
    seen.add(p.id);
  }
  if (payload.group_size.max < payload.group_size.min) problems.push('payload.group_size.max: must not be below min');
  return problems;
}
