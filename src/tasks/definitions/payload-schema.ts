/**
 * The JSON Schema subset a task type's payload schema may use: what ajv compiles, what
 * describeSchemaViolations words like class-validator did, and what OpenAPI 3.0 reads as it is.
 * Keeping to it is what lets one object serve all three.
 */
export type PayloadSchema = NumberSchema | StringSchema | BooleanSchema | ArraySchema | ObjectSchema;

interface Annotations {
  title?: string;
  description?: string;
  example?: unknown;
  default?: unknown;
}
export interface NumberSchema extends Annotations {
  type: 'number' | 'integer';
  minimum?: number;
  maximum?: number;
}
export interface StringSchema extends Annotations {
  type: 'string';
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** The message when `pattern` does not match (not a JSON Schema keyword: ajv and OpenAPI take x- keys as annotations). */
  'x-pattern-message'?: string;
}
export interface BooleanSchema extends Annotations {
  type: 'boolean';
}
export interface ArraySchema extends Annotations {
  type: 'array';
  items: PayloadSchema;
  minItems?: number;
  maxItems?: number;
}
export interface ObjectSchema extends Annotations {
  type: 'object';
  properties: Record<string, PayloadSchema>;
  required?: string[];
  additionalProperties: false;
}

/**
 * What JSON Schema cannot say (unique ids, one field against another): runs only on a payload the
 * schema accepted, reads it in place, and returns `path: message` problems.
 */
export type PayloadCheck = (payload: never) => string[];

export interface PayloadValidator {
  /** The type's one schema: the validator's source and its OpenAPI component. */
  readonly schema: ObjectSchema;
  /** `payload.x: message` problems, none when valid. The payload is read, never copied or changed. */
  validate(payload: object): string[];
}
