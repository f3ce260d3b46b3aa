import { ValidationError } from 'class-validator';

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
