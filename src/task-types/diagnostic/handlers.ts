import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { NonRetryableTaskError } from '../../tasks/task.errors';
import type { TaskContext, TaskHandler } from '../handler.types';
import type {
  DiagnosticCpuPayload,
  DiagnosticCrashPayload,
  DiagnosticFailPayload,
  DiagnosticMemoryPayload,
  DiagnosticRunLog,
  DiagnosticSleepPayload,
} from './payload.schemas';
import type { DiagnosticCpuResult, DiagnosticMemoryResult, DiagnosticRunStamp, DiagnosticSleepResult } from './result.schemas';

const MIB = 1024 * 1024;
/** Allocating in chunks keeps each buffer far below Node's size limit and lets RSS grow steadily. */
const MEMORY_CHUNK_BYTES = 16 * MIB;
/** The busy loop reads the clock once per this many iterations. */
const CPU_CLOCK_EVERY = 1024;
/** What a runaway task would do: swallow the polite signals, so only SIGKILL stops it. */
const IGNORED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
/** Exit code of diagnostic.crash: EX_SOFTWARE, distinct from Node's own codes. */
export const CRASH_EXIT_CODE = 70;

/** Resolves true if `signal` aborted before `ms` passed. */
async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return true;
  try {
    await delay(ms, undefined, { signal });
    return false;
  } catch (err) {
    if (signal.aborted) return true;
    throw err;
  }
}

const roundMs = (ms: number): number => Math.round(ms) / 1000;

export type RunLogOutcome = 'ok' | 'error' | 'crash';

/**
 * The per-run record (`run_log`): one line per run that finished its work, written synchronously
 * before the handler returns, so that it exists whatever Sluice later does with the outcome. One
 * file per child process, so no two processes ever append to the same file.
 */
function recordRun(dir: string | undefined, ctx: Pick<TaskContext, 'taskId' | 'attempt'>, startedAt: number, outcome: RunLogOutcome): DiagnosticRunStamp | undefined {
  if (dir === undefined) return undefined;
  const stamp: DiagnosticRunStamp = { attempt: ctx.attempt, pid: process.pid, started_at: startedAt, ended_at: Date.now() };
  const file = join(dir, `runs-${process.pid}.log`);
  try {
    appendFileSync(file, `${ctx.taskId} ${stamp.attempt} ${stamp.pid} ${stamp.started_at} ${stamp.ended_at} ${outcome}\n`, { mode: 0o600 });
  } catch (err) {
    // A record that cannot be written would make the run invisible to whoever asked for it.
    throw new NonRetryableTaskError(`run_log: cannot append to ${file}: ${(err as Error).message}`);
  }
  return stamp;
}

/** A successful result, stamped with its run when the payload asked for a record. */
function finished<R extends object>(payload: DiagnosticRunLog, ctx: TaskContext, startedAt: number, result: R): R | (R & { run: DiagnosticRunStamp }) {
  const run = recordRun(payload.run_log, ctx, startedAt, 'ok');
  return run ? { ...result, run } : result;
}

export const sleepHandler: TaskHandler<DiagnosticSleepPayload, DiagnosticSleepResult> = {
  run(payload, ctx) {
    const startedAt = Date.now();
    // Returning synchronously keeps this a true no-op, which benchmarks of the pool rely on.
    if (payload.seconds <= 0) return finished(payload, ctx, startedAt, { slept_seconds: 0, soft_limit_hit: false, pid: process.pid });
    const started = performance.now();
    const slept = payload.progress_steps ? sleepInSteps(payload.seconds * 1000, payload.progress_steps, ctx) : sleepUnlessAborted(payload.seconds * 1000, ctx.signal);
    return slept.then((softLimitHit) =>
      finished(payload, ctx, startedAt, {
        slept_seconds: roundMs(performance.now() - started),
        soft_limit_hit: softLimitHit,
        pid: process.pid,
      }),
    );
  },
};

/** Sleeps `ms` in `steps` equal parts, reporting progress after each; true if aborted. */
async function sleepInSteps(ms: number, steps: number, ctx: TaskContext): Promise<boolean> {
  for (let i = 1; i <= steps; i++) {
    if (await sleepUnlessAborted(ms / steps, ctx.signal)) return true;
    ctx.progress((100 * i) / steps, `step ${i} of ${steps}`);
  }
  return false;
}

export const cpuHandler: TaskHandler<DiagnosticCpuPayload, DiagnosticCpuResult> = {
  run(payload, ctx) {
    const { seconds, ignore_signals: ignoreSignals = true } = payload;
    const startedAt = Date.now();
    const ignore = (): void => undefined;
    if (ignoreSignals) for (const s of IGNORED_SIGNALS) process.on(s, ignore);
    try {
      const end = Date.now() + seconds * 1000;
      let iterations = 0;
      while (++iterations % CPU_CLOCK_EVERY !== 0 || Date.now() < end);
      return finished(payload, ctx, startedAt, { pid: process.pid, iterations });
    } finally {
      // The child may run more tasks; it must answer SIGTERM again.
      for (const s of IGNORED_SIGNALS) process.off(s, ignore);
    }
  },
};

export const memoryHandler: TaskHandler<DiagnosticMemoryPayload, DiagnosticMemoryResult> = {
  async run(payload, ctx) {
    const { mb, hold_seconds: holdSeconds = 0 } = payload;
    const startedAt = Date.now();
    const chunks: Buffer[] = [];
    for (let left = mb * MIB; left > 0; left -= MEMORY_CHUNK_BYTES) {
      // Freshly mapped pages do not count in RSS until written, so every byte is touched.
      chunks.push(Buffer.allocUnsafeSlow(Math.min(MEMORY_CHUNK_BYTES, left)).fill(1));
    }
    if (holdSeconds > 0) await sleepUnlessAborted(holdSeconds * 1000, ctx.signal);
    // Reading the chunks after the hold is what keeps them alive across the await.
    const allocated = chunks.reduce((bytes, chunk) => bytes + chunk.length, 0);
    return finished(payload, ctx, startedAt, { pid: process.pid, allocated_mb: allocated / MIB });
  },
};

export const failHandler: TaskHandler<DiagnosticFailPayload, never> = {
  run({ message, retryable, run_log: runLog }, ctx) {
    recordRun(runLog, ctx, Date.now(), 'error');
    const text = message ?? 'diagnostic.fail';
    throw retryable === false ? new NonRetryableTaskError(text) : new Error(text);
  },
};

export const crashHandler: TaskHandler<DiagnosticCrashPayload, never> = {
  run({ run_log: runLog }, ctx) {
    recordRun(runLog, ctx, Date.now(), 'crash');
    process.exit(CRASH_EXIT_CODE);
  },
};
