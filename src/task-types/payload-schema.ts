import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

/**
 * The JSON Schema subset a task type's payload schema may use: what ajv compiles, what
 * describeSchemaViolations words like class-validator did, and what OpenAPI 3.0 reads as it is.
 * Keeping to it is what lets one object serve all three. Schemas are written `as const` and checked
 * with `satisfies`, so that their TypeScript types are derived from them (json-schema-to-ts'
 * FromSchema) rather than written a second time.
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
  properties: Readonly<Record<string, PayloadSchema>>;
  required?: readonly string[];
  additionalProperties: false;
}

/**
 * What a handler returns, for the document and for the handler's type: the same subset, plus `enum`
 * on strings. It is not checked at run time (its spec checks real results against it).
 */
export type ResultSchema = ResultObjectSchema & { title: string };
export type ResultNodeSchema =
  | NumberSchema
  | BooleanSchema
  | (StringSchema & { enum?: readonly string[] })
  | (Omit<ArraySchema, 'items'> & { items: ResultNodeSchema })
  | ResultObjectSchema;
export interface ResultObjectSchema extends Omit<ObjectSchema, 'properties'> {
  properties: Readonly<Record<string, ResultNodeSchema>>;
}

/**
 * The TypeScript type of what a schema accepts. A property with a `default` stays optional: the
 * validator does not fill defaults in, so the handler supplies them.
 */
export type SchemaType<S extends JSONSchema> = FromSchema<S, { keepDefaultedPropertiesOptional: true }>;
