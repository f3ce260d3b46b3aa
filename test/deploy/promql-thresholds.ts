/**
 * Removing the thresholds from an alert expression, so that it can be checked for data while the
 * alert is not firing: `x > 0.10` returns nothing when x is 0.05, which proves nothing about x.
 *
 * The method, on PromQL text, with PromQL's operator precedence (lowest first):
 * 1. split at the top-level `or`s, then each piece at the top-level `and`s and `unless`es (with
 *    their `on (...)`/`ignoring (...)` modifiers). Top level means outside any (), {}, [] and string;
 * 2. in each piece ("arm"), a top-level comparison (==, !=, >, <, >=, <=) whose other side is a
 *    number or plain arithmetic on numbers (`1536 * 1024 * 1024`) is a threshold: keep the other side;
 * 3. put the arms back together with their set operators.
 * Comparisons nested inside parentheses or function calls are left alone, as are comparisons
 * between two series: neither is a threshold on the alert's value.
 */

export interface Unthresholded {
  /** The whole expression with every top-level threshold removed, set operators kept. */
  expr: string;
  /** Each operand of the top-level set operators, thresholds removed. */
  arms: string[];
  /** What was removed, e.g. `> 0.10`. */
  thresholds: string[];
}

const SET_OR = /\bor\b(\s*(?:on|ignoring)\s*\([^)]*\))?/g;
const SET_AND_UNLESS = /\b(?:and|unless)\b(\s*(?:on|ignoring)\s*\([^)]*\))?/g;
const COMPARISON = /(?:==|!=|>=|<=|>|<)(?:\s*bool\b)?(?:\s*(?:on|ignoring)\s*\([^)]*\))?(?:\s*(?:group_left|group_right)\b(?:\s*\([^)]*\))?)?/g;
const NUMBER_ARITHMETIC = /^[\d.eE\s+\-*/%^()]+$/;

/**
 * Bracket depth of each character of `expr`: a bracket has the depth outside it, so a top-level
 * `(` and its `)` are 0. Characters of string literals and comments are -1.
 */
function depths(expr: string): number[] {
  const out: number[] = [];
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      out[i] = -1;
      for (i++; i < expr.length && expr[i] !== c; i++) {
        out[i] = -1;
        if (expr[i] === '\\' && c !== '`' && i + 1 < expr.length) out[++i] = -1;
      }
      if (i < expr.length) out[i] = -1;
      continue;
    }
    if (c === '#') {
      for (; i < expr.length && expr[i] !== '\n'; i++) out[i] = -1;
      if (i < expr.length) out[i] = depth;
      continue;
    }
    if (c === ')' || c === '}' || c === ']') depth--;
    out[i] = depth;
    if (c === '(' || c === '{' || c === '[') depth++;
  }
  return out;
}

/** Splits `expr` at the top-level matches of `op`; `seps[i]` sits between `parts[i]` and `parts[i + 1]`. */
function splitTopLevel(expr: string, op: RegExp): { parts: string[]; seps: string[] } {
  const depth = depths(expr);
  const parts: string[] = [];
  const seps: string[] = [];
  let from = 0;
  for (const m of expr.matchAll(new RegExp(op.source, 'g'))) {
    const at = m.index;
    if (depth[at] !== 0 || at < from) continue;
    parts.push(expr.slice(from, at));
    seps.push(m[0]);
    from = at + m[0].length;
  }
  parts.push(expr.slice(from));
  return { parts, seps };
}

/** `(a or b)` → `a or b`, when the outer parentheses enclose everything (unlike `(a) / (b)`). */
function unwrap(expr: string): string {
  let e = expr.trim();
  for (;;) {
    if (!e.startsWith('(')) return e;
    const depth = depths(e);
    const close = depth.findIndex((d, i) => i > 0 && d === 0 && e[i] === ')');
    if (close !== e.length - 1) return e;
    e = e.slice(1, -1).trim();
  }
}

function stripComparison(arm: string, thresholds: string[]): string {
  const { parts, seps } = splitTopLevel(arm, COMPARISON);
  if (seps.length !== 1) return arm.trim();
  const [left, right] = parts.map((p) => p.trim());
  if (NUMBER_ARITHMETIC.test(right) && !NUMBER_ARITHMETIC.test(left)) {
    thresholds.push(`${seps[0].trim()} ${right}`);
    return left;
  }
  if (NUMBER_ARITHMETIC.test(left) && !NUMBER_ARITHMETIC.test(right)) {
    thresholds.push(`${left} ${seps[0].trim()}`);
    return right;
  }
  return arm.trim();
}

export function withoutThresholds(expr: string): Unthresholded {
  const thresholds: string[] = [];
  const arms: string[] = [];
  const ors = splitTopLevel(unwrap(expr), SET_OR);
  const orParts = ors.parts.map((orPart) => {
    const ands = splitTopLevel(orPart, SET_AND_UNLESS);
    const stripped = ands.parts.map((p) => stripComparison(p, thresholds));
    arms.push(...stripped);
    return stripped.reduce((acc, p, i) => `${acc} ${ands.seps[i - 1].trim()} ${p}`);
  });
  const whole = orParts.reduce((acc, p, i) => `${acc} ${ors.seps[i - 1].trim()} ${p}`);
  return { expr: whole, arms, thresholds };
}
