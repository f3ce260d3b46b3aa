/**
 * The JSON text of request bodies that are exactly a task's job data, `{"task_name", "payload"}`,
 * keyed by the parsed payload object. The submitter stores that text as the job's data instead of
 * serialising the payload again: for a 14.7 MB payload, JSON.stringify was 15 % of the POST's CPU,
 * and its new string as much again in the garbage collector.
 *
 * The text means what the parsed body means: the body parser refuses `__proto__` keys and keeps
 * every other key as JSON.parse does, the validators read the payload without changing it, and the
 * object is the key, so a payload that is not the parser's own object finds nothing here. The one
 * liberty the parser takes with its text is a leading byte order mark, which it skips and so must
 * this: JSON.parse refuses one, and the job's data is read by JSON.parse.
 */
const BOM = 0xfeff;

const texts = new WeakMap<object, string>();

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Called by the body parser with what it parsed and the text it parsed it from. */
export function rememberTaskDataText(body: unknown, text: string): void {
  if (!isPlainObject(body) || !isPlainObject(body.payload) || typeof body.task_name !== 'string') return;
  let keys = 0;
  for (const key in body) if (Object.hasOwn(body, key) && ++keys > 2) return;
  if (keys === 2) texts.set(body.payload, text.charCodeAt(0) === BOM ? text.slice(1) : text);
}

/** `{"task_name", "payload"}` as JSON, for a payload parsed from a body of exactly that shape. */
export function taskDataText(payload: unknown): string | undefined {
  return isPlainObject(payload) ? texts.get(payload) : undefined;
}
