import Ajv, { ValidateFunction } from 'ajv';
import type { ObjectSchema } from '../task-types/payload-schema';
import { describeSchemaViolations } from './validation.util';

export interface PayloadValidator {
  /** The type's one schema: the validator's source and its OpenAPI component. */
  readonly schema: ObjectSchema;
  /** `payload.x: message` problems, none when valid. The payload is read, never copied or changed. */
  validate(payload: object): string[];
}

/** One per registry: compiles each type's schema once, at start-up. */
export class PayloadCompiler {
  // allErrors off: the compiled code stops at the first failure; the wording comes from
  // describeSchemaViolations, which runs only on a payload already known to be invalid.
  private readonly ajv = new Ajv({ allErrors: false, strict: true, keywords: ['example', 'x-pattern-message'] });

  compile(schema: ObjectSchema, check?: (payload: unknown) => string[]): PayloadValidator {
    const valid: ValidateFunction = this.ajv.compile(schema);
    return {
      schema,
      validate(payload: object): string[] {
        if (valid(payload)) return check ? check(payload) : [];
        const problems = describeSchemaViolations(schema, payload, 'payload');
        if (problems.length) return problems;
        // Only if the two readings of the schema ever disagree: ajv's own words.
        const e = valid.errors?.[0];
        return [`payload${(e?.instancePath ?? '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')}: ${e?.message ?? 'is invalid'}`];
      },
    };
  }
}
