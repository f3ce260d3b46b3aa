export type LogFieldValue = string | number | boolean | null | undefined;
export type LogFields = Record<string, LogFieldValue>;

/** A log line's message and its fields; pino writes the fields as JSON keys beside `msg`. */
export interface LogEvent extends LogFields {
  msg: string;
}

/** Keys that belong to the log line itself: an event field by that name is written as `<name>_`. */
const RESERVED = new Set(['msg', 'time', 'level', 'context', 'err']);

/**
 * One event: `msg` is the seed's greppable `Title key=value …` text, and the same fields travel as
 * keys, so `grep 'Task started task_id=…'` and `jq 'select(.task_id == …)'` find the same line.
 * A value with a space, a quote or an `=` is quoted in the text, so the text still splits into
 * fields; undefined fields are left out of both.
 */
export function logEvent(title: string, fields: LogFields = {}): LogEvent {
  const event: LogEvent = { msg: title };
  let text = title;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    event[RESERVED.has(key) ? `${key}_` : key] = value;
    text += ` ${key}=${formatValue(value)}`;
  }
  event.msg = text;
  return event;
}

function formatValue(value: Exclude<LogFieldValue, undefined>): string {
  const text = String(value);
  // Quoted (and so escaped) when it holds a space, a quote, an `=`, or anything but printable
  // ASCII: a client-chosen path cannot split a line, forge a field or carry an ANSI code.
  return text === '' || /[^\x21-\x7e]|["=]/.test(text) ? JSON.stringify(text) : text;
}

let infoProbe: () => boolean = () => true;

/**
 * Whether lines of Nest's `log` level are written. The worker's per-task lines (`Task started`,
 * `Task completed`) are built only then: at LOG_LEVEL=warn each would cost a log event built and
 * thrown away, per task. True until the process logger exists (Nest's own logger writes
 * everything); then the process logger (app/logging) answers, through the probe it sets here, so
 * that features need not import the app's logging.
 */
export function infoLogged(): boolean {
  return infoProbe();
}

/** For the process logger only. */
export function setInfoProbe(probe: () => boolean): void {
  infoProbe = probe;
}
