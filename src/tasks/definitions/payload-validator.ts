import Ajv, { ValidateFunction } from 'ajv';
import { describeSchemaViolations } from '../validation.util';
import { ObjectSchema, PayloadCheck, PayloadValidator } from './payload-schema';

/** One per registry: compiles each type's schema once, at start-up. */
export class PayloadCompiler {
  // allErrors off: the compiled code stops at the first failure; the wording comes from
  // describeSchemaViolations, which runs only on a payload already known to be invalid.
  private readonly ajv = new Ajv({ allErrors: false, strict: true, keywords: ['example', 'x-pattern-message'] });

  compile(schema: ObjectSchema, check?: PayloadCheck): PayloadValidator {
    const valid: ValidateFunction = this.ajv.compile(schema);
    return {
      schema,
      validate(payload: object): string[] {
        if (valid(payload)) return check ? check(payload as never) : [];
        const problems = describeSchemaViolations(schema, payload, 'payload');
        if (problems.length) return problems;
        // Only if the two readings of the schema ever disagree: ajv's own words.
        const e = valid.errors?.[0];
        return [`payload${(e?.instancePath ?? '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')}: ${e?.message ?? 'is invalid'}`];
      },
    };
  }
}
