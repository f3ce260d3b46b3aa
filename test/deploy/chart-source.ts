import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as yaml from 'js-yaml';

/**
 * Reading the Helm chart without Helm, which is not available here. Nothing in this file
 * evaluates Go templates: it reads the templates' text, and keeps only their static parts. The
 * one exception is the branches of `if` blocks, which a caller may choose by naming their
 * conditions (see staticSkeleton).
 */
export const REPO_ROOT = join(__dirname, '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'helm', 'sluice');
export const TEMPLATES_DIR = join(CHART_DIR, 'templates');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readYaml(path: string): Json {
  return yaml.load(readFileSync(path, 'utf8')) as Json;
}

export function defaultValues(): JsonObject {
  const values = readYaml(join(CHART_DIR, 'values.yaml'));
  if (!isObject(values)) throw new Error('values.yaml is not a mapping');
  return values;
}

/**
 * Template files by their path under templates/ ("api-deployment.yaml", "tests/test-connection.yaml"),
 * helpers and NOTES.txt included.
 */
export function templateSources(): Map<string, string> {
  const files = readdirSync(TEMPLATES_DIR, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(TEMPLATES_DIR, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
  return new Map(files.map((f) => [f, readFileSync(join(TEMPLATES_DIR, f), 'utf8')]));
}

/** Every `.Values.a.b.c` path a template mentions, as "a.b.c". */
export function valuesPathsUsed(sources: Iterable<string>): Set<string> {
  const used = new Set<string>();
  for (const text of sources) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) used.add(m[1].slice(1));
  }
  return used;
}

/** Follows a dotted path ("a.0.b" indexes lists); undefined when some step is missing. */
export function lookup(values: Json, path: string): Json | undefined {
  let node: Json | undefined = values;
  for (const key of path.split('.')) {
    if (Array.isArray(node) && /^\d+$/.test(key)) node = node[Number(key)];
    else if (isObject(node) && key in node) node = node[key];
    else return undefined;
  }
  return node;
}

/** The body of a named template in a helpers file, up to the next definition or comment. */
export function defineBlock(helpers: string, name: string): string {
  const start = helpers.indexOf(`define "${name}"`);
  if (start < 0) return '';
  const rest = helpers.slice(start + 1);
  const end = rest.search(/\{\{(-? define |\/\*)/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Leaves of values.yaml: scalars, lists and empty maps (a map with keys is walked into). */
export function leafPaths(values: Json, prefix = ''): string[] {
  if (isObject(values) && Object.keys(values).length > 0) {
    return Object.entries(values).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/** Helm's merge of user values over the chart's: maps merge, anything else replaces, null deletes. */
export function mergeValues(base: Json, override: Json): Json {
  if (!isObject(base) || !isObject(override)) return override;
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else out[k] = k in base ? mergeValues(base[k], v) : v;
  }
  return out;
}

export const PLACEHOLDER = '__TPL__';

/**
 * Chosen branches, by the text of an `if` (or `with`) action without its delimiters and trim markers:
 * `{'if .Values.tests.apiKey': false}` keeps the `else` part of `{{- if .Values.tests.apiKey }}`.
 */
export type Branches = Record<string, boolean>;

interface Frame {
  /** Whether the branch being read is kept. */
  on: boolean;
  /** Known blocks: whether an earlier branch was taken, so that `else` is off. */
  taken?: boolean;
}

/** The actions of a line made only of actions, as their inner text; undefined for other lines. */
function actionsOnly(line: string): string[] | undefined {
  if (!/^\s*(\{\{.*?\}\}\s*)+$/.test(line)) return undefined;
  return [...line.matchAll(/\{\{-?\s*(.*?)\s*-?\}\}/g)].map((m) => m[1]);
}

/** Applies one action to the stack of open blocks. Blocks whose condition is not in `branches` keep every branch. */
function follow(stack: Frame[], action: string, branches: Branches, seen: Set<string>): void {
  if (/^(if|with|range|define|block)\b/.test(action)) {
    const known = action in branches;
    seen.add(action);
    stack.push(known ? { on: branches[action], taken: branches[action] } : { on: true });
  } else if (/^else\b/.test(action)) {
    const top = stack[stack.length - 1];
    if (!top) throw new Error(`{{ ${action} }} outside a block`);
    if (top.taken === undefined) return;
    const elseIf = /^else (if .*)$/.exec(action)?.[1];
    if (elseIf !== undefined) seen.add(elseIf);
    if (top.taken) top.on = false;
    else if (elseIf === undefined) top.on = top.taken = true;
    else if (elseIf in branches) top.on = top.taken = branches[elseIf];
    else Object.assign(top, { on: true, taken: undefined });
  } else if (/^end\b/.test(action)) {
    if (!stack.pop()) throw new Error('{{ end }} without a block');
  }
}

/**
 * The static part of a manifest template: lines that are only template actions (conditionals,
 * includes, toYaml blocks) are dropped, and an action inside a line becomes PLACEHOLDER. Keys
 * whose whole content was templated are left null; prune() removes them. Every branch of a
 * block is kept, unless `branches` names its condition. Returns one object per YAML document.
 */
export function staticSkeleton(template: string, branches: Branches = {}): JsonObject[] {
  const lines: string[] = [];
  const stack: Frame[] = [];
  const seen = new Set<string>();
  for (const line of template.split('\n')) {
    const actions = actionsOnly(line);
    if (actions) {
      for (const a of actions) follow(stack, a, branches, seen);
      continue;
    }
    if (!stack.every((f) => f.on)) continue;
    const replaced = line.replace(/\{\{.*?\}\}/g, PLACEHOLDER);
    if (replaced.includes('{{') || replaced.includes('}}')) {
      throw new Error(`A template action spans lines, which the static reading cannot follow: ${line.trim()}`);
    }
    lines.push(replaced);
  }
  const unknown = Object.keys(branches).filter((b) => !seen.has(b));
  if (unknown.length) throw new Error(`No such block in the template: ${unknown.map((b) => `{{ ${b} }}`).join(', ')}`);
  if (stack.length) throw new Error(`${stack.length} block(s) left open`);
  const docs = yaml.loadAll(lines.join('\n')) as Json[];
  return docs.filter(isObject).map((d) => prune(d) as JsonObject);
}

/** Removes null values and the maps left empty by removing them. */
export function prune(node: Json): Json {
  if (Array.isArray(node)) return node.map(prune);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (v === null) continue;
    const p = prune(v);
    if (isObject(p) && Object.keys(p).length === 0 && isObject(v) && Object.keys(v).length > 0) continue;
    out[k] = p;
  }
  return out;
}

/** Sets a value at a dotted path whose every step but the last exists ("a.0.b" indexes lists). */
export function setPath(root: Json, path: string, value: Json): void {
  const keys = path.split('.');
  let node: Json = root;
  for (const key of keys.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined;
    if (next === undefined || next === null) throw new Error(`No ${key} on the way to ${path}`);
    node = next;
  }
  const last = keys[keys.length - 1];
  if (Array.isArray(node)) node[Number(last)] = value;
  else if (isObject(node)) node[last] = value;
  else throw new Error(`Cannot set ${path}`);
}

/** Every path in a manifest whose value still holds a placeholder. */
export function placeholderPaths(node: Json, prefix = ''): string[] {
  if (typeof node === 'string') return node.includes(PLACEHOLDER) ? [prefix] : [];
  if (Array.isArray(node)) return node.flatMap((v, i) => placeholderPaths(v, `${prefix}.${i}`));
  if (isObject(node)) return Object.entries(node).flatMap(([k, v]) => placeholderPaths(v, prefix ? `${prefix}.${k}` : k));
  return [];
}

/** GitHub's anchors of a Markdown file's headings: lowercased, punctuation dropped, spaces as dashes. */
export function markdownAnchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

/**
 * The runbook base URL in files/alerts.yaml. `.invalid` never resolves (RFC 2606), so the file
 * loaded as-is links nowhere real; the chart's PrometheusRule replaces it with alerts.runbookBaseUrl.
 */
export const RUNBOOK_PLACEHOLDER = 'https://sluice.invalid/docs/operations.md';
