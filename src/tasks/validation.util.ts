import { ValidationError } from 'class-validator';
import type { ArraySchema, ObjectSchema, PayloadSchema, StringSchema } from '../task-types/payload-schema';

/** Flattens nested class-validator errors into `path message` strings, at most `limit` of them. */
export function formatValidationErrors(errors: ValidationError[], root = '', limit = 10): string[] {
  const out: string[] = [];
  const walk = (errs: ValidationError[], prefix: string): void => {
    for (const e of errs) {
      if (out.length >= limit) return;
      const path = /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : prefix ? `${prefix}.${e.property}` : e.property;
      for (const msg of Object.values(e.constraints ?? {})) {
        if (out.length >= limit) return;
        // class-validator starts messages with the bare property name; the full path is clearer.
        out.push(`${path}: ${msg.startsWith(e.property + ' ') ? msg.slice(e.property.length + 1) : msg}`);
      }
      if (e.children?.length) walk(e.children, path);
    }
  };
  walk(errors, root);
  return out;
}

/** A constraint on one value: whether it fails, and its message (built from the whole property value). */
interface Rule {
  fails(value: unknown): boolean;
  message(value: unknown): string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const codePoints = (s: string): number => {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
};

/**
 * A scalar schema's constraints in the order class-validator checked the decorators they replace
 * (the last decorator first), with its wording: the first that fails is the one reported.
 */
function scalarRules(node: PayloadSchema): Rule[] {
  const rules: Rule[] = [];
  switch (node.type) {
    case 'number':
    case 'integer': {
      const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
      const { maximum: max, minimum: min } = node;
      if (max !== undefined) rules.push({ fails: (v) => !(isNumber(v) && v <= max), message: () => `must not be greater than ${max}` });
      if (min !== undefined) rules.push({ fails: (v) => !(isNumber(v) && v >= min), message: () => `must not be less than ${min}` });
      if (node.type === 'integer') rules.push({ fails: (v) => !Number.isInteger(v), message: () => 'must be an integer number' });
      rules.push({ fails: (v) => !isNumber(v), message: () => 'must be a number conforming to the specified constraints' });
      return rules;
    }
    case 'string':
      return stringRules(node);
    case 'boolean':
      return [{ fails: (v) => typeof v !== 'boolean', message: () => 'must be a boolean value' }];
    default:
      return rules;
  }
}

function stringRules(node: StringSchema): Rule[] {
  const rules: Rule[] = [];
  if (node.pattern !== undefined) {
    const re = new RegExp(node.pattern, 'u');
    rules.push({ fails: (v) => !(typeof v === 'string' && re.test(v)), message: () => node['x-pattern-message'] ?? `must match ${node.pattern} regular expression` });
  }
  const { minLength: min, maxLength: max } = node;
  if (min !== undefined || max !== undefined) {
    rules.push({
      fails: (v) => !(typeof v === 'string' && codePoints(v) >= (min ?? 0) && (max === undefined || codePoints(v) <= max)),
      // class-validator's Length message reads the length of the whole value, whatever it is.
      message: (v) => {
        const length = (v as { length?: number } | null | undefined)?.length as number;
        if (min !== undefined && (!v || length < min)) return `must be longer than or equal to ${min} characters`;
        if (max !== undefined && length > max) return `must be shorter than or equal to ${max} characters`;
        return `must be longer than or equal to ${min} and shorter than or equal to ${max} characters`;
      },
    });
  }
  rules.push({ fails: (v) => typeof v !== 'string', message: () => 'must be a string' });
  return rules;
}

function arraySizeRules(node: ArraySchema): Rule[] {
  const rules: Rule[] = [];
  const { maxItems: max, minItems: min } = node;
  if (max !== undefined) rules.push({ fails: (v) => !(Array.isArray(v) && v.length <= max), message: () => `must contain no more than ${max} elements` });
  if (min !== undefined) rules.push({ fails: (v) => !(Array.isArray(v) && v.length >= min), message: () => `must contain at least ${min} elements` });
  rules.push({ fails: (v) => !Array.isArray(v), message: () => 'must be an array' });
  return rules;
}

/**
 * Why `value` does not match `schema`, as `path: message` strings worded and ordered as the
 * class-validator DTOs that the schemas replaced reported them: unknown properties first, then each
 * declared property in order, with the first constraint that fails. It reads the value in place and
 * runs only after the compiled validator said no, so its cost is never on the path of a valid payload.
 */
export function describeSchemaViolations(schema: ObjectSchema, value: unknown, root: string, limit = 10): string[] {
  const out: string[] = [];
  const add = (path: string, message: string): boolean => {
    if (out.length < limit) out.push(`${path}: ${message}`);
    return out.length < limit;
  };
  const first = (rules: Rule[], targets: unknown[], whole: unknown): string | undefined => rules.find((r) => targets.some((t) => r.fails(t)))?.message(whole);

  const walkObject = (node: ObjectSchema, obj: Record<string, unknown>, path: string): boolean => {
    for (const key of Object.keys(obj)) {
      if (!Object.hasOwn(node.properties, key) && !add(`${path}.${key}`, `property ${key} should not exist`)) return false;
    }
    const required = node.required ?? [];
    for (const [key, child] of Object.entries(node.properties)) {
      const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
      if (v === undefined && !required.includes(key)) continue;
      if (!walkValue(child, v, key, `${path}.${key}`)) return false;
    }
    return true;
  };

  const walkValue = (node: PayloadSchema, v: unknown, name: string, path: string): boolean => {
    if (node.type === 'object') return isPlainObject(v) ? walkObject(node, v, path) : add(path, `nested property ${name} must be either object or array`);
    if (node.type !== 'array') {
      const problem = first(scalarRules(node), [v], v);
      return problem === undefined || add(path, problem);
    }
    const items = node.items;
    if (items.type === 'object' || items.type === 'array') {
      const problem = first(arraySizeRules(node), [v], v);
      if (problem !== undefined && !add(path, problem)) return false;
      if (!Array.isArray(v)) return true;
      for (let i = 0; i < v.length; i++) {
        const el = v[i];
        if (items.type === 'object' && isPlainObject(el)) {
          if (!walkObject(items, el, `${path}[${i}]`)) return false;
        } else if (items.type === 'object' || !Array.isArray(el)) {
          if (!add(`${path}[${i}]`, `each value in nested property ${name} must be either object or array`)) return false;
        }
      }
      return true;
    }
    // Scalar items: class-validator's `each` rules applied to every item of an array, or to the
    // value itself when it is not one, and came before the array's own.
    const each = first(scalarRules(items), Array.isArray(v) ? v : [v], v);
    if (each !== undefined) return add(path, `each value in ${name} ${each}`);
    const problem = first(arraySizeRules(node), [v], v);
    return problem === undefined || add(path, problem);
  };

  if (isPlainObject(value)) walkObject(schema, value, root);
  return out;
}
