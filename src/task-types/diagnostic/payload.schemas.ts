import type { ObjectSchema, PayloadSchema, SchemaType, StringSchema } from '../payload-schema';

/**
 * An absolute directory path without `.` or `..` segments, empty segments or control characters.
 * Only the directory is the caller's: the record's file name is the handler's.
 */
export const RUN_LOG_DIR_PATTERN = /^(?:\/(?!\.\.?(?:\/|$))[^\/\x00-\x1f\x7f]+)+\/?$/;

/**
 * Every diagnostic task may ask for a per-run record, so that a soak test can count how often its
 * handler really finished, independently of what Sluice accepted (see docs/RELIABILITY.md).
 */
const RUN_LOG = {
  type: 'string',
  minLength: 2,
  maxLength: 1024,
  pattern: RUN_LOG_DIR_PATTERN.source,
  'x-pattern-message': 'must be an absolute directory path without . or .. segments',
  example: '/var/tmp/sluice-chaos/runs',
  description:
    'An existing absolute directory on the worker host. Each run that finishes its work appends one line ' +
    '`<task_id> <attempt> <pid> <started_ms> <ended_ms> <outcome>` (outcome ok, error or crash) to `runs-<pid>.log` ' +
    'there before it returns, and a successful result then carries `run: {attempt, pid, started_at, ended_at}`. ' +
    'A run killed before it finishes writes nothing. Diagnostic tasks are for operators: this writes files on the worker.',
} as const satisfies StringSchema;

const seconds = (description: string, example?: number) => ({ type: 'number', minimum: 0, maximum: 86_400, description, example }) as const;

/** A diagnostic payload: its own properties, then `run_log`, all of them optional unless `required`. */
function diagnostic<const P extends Record<string, PayloadSchema>, const Q extends readonly (keyof P & string)[] = []>(title: string, properties: P, required?: Q) {
  return {
    title,
    type: 'object',
    properties: { ...properties, run_log: RUN_LOG },
    required: required ?? ([] as unknown as Q),
    additionalProperties: false,
  } as const satisfies ObjectSchema;
}

export const DIAGNOSTIC_SLEEP_SCHEMA = diagnostic(
  'DiagnosticSleepPayload',
  {
    seconds: seconds('How long to sleep; stops early at the soft time limit', 2),
    progress_steps: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      example: 4,
      description: 'Report progress this many times, evenly spread over the sleep (the last report is 100). Without it the sleep reports none',
    },
  },
  ['seconds'],
);

export const DIAGNOSTIC_CPU_SCHEMA = diagnostic(
  'DiagnosticCpuPayload',
  {
    seconds: seconds('How long to busy-loop', 2),
    ignore_signals: {
      type: 'boolean',
      default: true,
      description: 'Ignore SIGTERM, SIGINT and SIGHUP, as a runaway task would; false leaves their default action (terminate)',
    },
  },
  ['seconds'],
);

export const DIAGNOSTIC_MEMORY_SCHEMA = diagnostic(
  'DiagnosticMemoryPayload',
  {
    mb: { type: 'number', minimum: 1, maximum: 65_536, example: 256, description: 'MiB of memory to allocate and touch' },
    hold_seconds: seconds('How long to hold the memory', 1),
  },
  ['mb'],
);

export const DIAGNOSTIC_FAIL_SCHEMA = diagnostic('DiagnosticFailPayload', {
  message: { type: 'string', minLength: 0, maxLength: 1000, example: 'boom' },
  retryable: { type: 'boolean', example: false, description: 'false throws NonRetryableTaskError, which fails the task at once' },
});

export const DIAGNOSTIC_CRASH_SCHEMA = diagnostic('DiagnosticCrashPayload', {});


export type DiagnosticSleepPayload = SchemaType<typeof DIAGNOSTIC_SLEEP_SCHEMA>;
export type DiagnosticCpuPayload = SchemaType<typeof DIAGNOSTIC_CPU_SCHEMA>;
export type DiagnosticMemoryPayload = SchemaType<typeof DIAGNOSTIC_MEMORY_SCHEMA>;
export type DiagnosticFailPayload = SchemaType<typeof DIAGNOSTIC_FAIL_SCHEMA>;
export type DiagnosticCrashPayload = SchemaType<typeof DIAGNOSTIC_CRASH_SCHEMA>;
export type DiagnosticRunLog = Pick<DiagnosticCrashPayload, 'run_log'>;
