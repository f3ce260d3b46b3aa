import type { ResultNodeSchema, ResultSchema, SchemaType } from '../payload-schema';

/** Which run produced a result: the fields of its line in the `run_log` record. */
const RUN_STAMP = {
  type: 'object',
  description: 'Only when the payload gave run_log: the run that wrote its line there',
  properties: {
    attempt: { type: 'integer', minimum: 1, description: '1 for the first run, 2 for the first retry, ...' },
    pid: { type: 'integer', description: 'The child process that ran it' },
    started_at: { type: 'integer', description: 'Epoch milliseconds' },
    ended_at: { type: 'integer', description: 'Epoch milliseconds' },
  },
  required: ['attempt', 'pid', 'started_at', 'ended_at'],
  additionalProperties: false,
} as const;

const PID = { type: 'integer', description: 'The child process that ran it', example: 4242 } as const;

/** A diagnostic result: its own properties, then the optional `run` stamp. */
function diagnosticResult<const T extends string, const P extends Record<string, ResultNodeSchema>>(title: T, properties: P) {
  return {
    title,
    type: 'object',
    properties: { ...properties, pid: PID, run: RUN_STAMP },
    // Every property but `run`.
    required: [...(Object.keys(properties) as (keyof P & string)[]), 'pid'],
    additionalProperties: false,
  } as const satisfies ResultSchema;
}

export const DIAGNOSTIC_SLEEP_RESULT = diagnosticResult('DiagnosticSleepResult', {
  slept_seconds: { type: 'number', minimum: 0, example: 2.001 },
  soft_limit_hit: { type: 'boolean', description: 'The sleep stopped early at the soft time limit' },
});

export const DIAGNOSTIC_CPU_RESULT = diagnosticResult('DiagnosticCpuResult', {
  iterations: { type: 'integer', minimum: 0, description: 'Turns of the busy loop' },
});

export const DIAGNOSTIC_MEMORY_RESULT = diagnosticResult('DiagnosticMemoryResult', {
  allocated_mb: { type: 'number', minimum: 0, description: 'MiB allocated and touched', example: 256 },
});

/** diagnostic.fail and diagnostic.crash never complete, so their `result` is always null. */
const never = <const T extends string>(title: T, description: string) =>
  ({ title, type: 'object', description, properties: {}, additionalProperties: false }) as const satisfies ResultSchema;

export const DIAGNOSTIC_FAIL_RESULT = never('DiagnosticFailResult', 'None: diagnostic.fail always fails, so its result is always null');
export const DIAGNOSTIC_CRASH_RESULT = never('DiagnosticCrashResult', 'None: diagnostic.crash always fails, so its result is always null');

export type DiagnosticRunStamp = SchemaType<typeof RUN_STAMP>;
export type DiagnosticSleepResult = SchemaType<typeof DIAGNOSTIC_SLEEP_RESULT>;
export type DiagnosticCpuResult = SchemaType<typeof DIAGNOSTIC_CPU_RESULT>;
export type DiagnosticMemoryResult = SchemaType<typeof DIAGNOSTIC_MEMORY_RESULT>;
