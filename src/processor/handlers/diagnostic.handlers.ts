import { setTimeout as delay } from 'node:timers/promises';
import type {
  DiagnosticCpuDto,
  DiagnosticCrashDto,
  DiagnosticFailDto,
  DiagnosticMemoryDto,
  DiagnosticSleepDto,
} from '../../tasks/definitions/diagnostic.dto';
import { NonRetryableTaskError } from '../../tasks/task.errors';
import type { TaskHandler } from './handler.types';

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

export const sleepHandler: TaskHandler<DiagnosticSleepDto> = {
  run({ seconds }, ctx) {
    // Returning synchronously keeps this a true no-op, which benchmarks of the pool rely on.
    if (seconds <= 0) return { slept_seconds: 0, soft_limit_hit: false, pid: process.pid };
    const started = performance.now();
    return sleepUnlessAborted(seconds * 1000, ctx.signal).then((softLimitHit) => ({
      slept_seconds: roundMs(performance.now() - started),
      soft_limit_hit: softLimitHit,
      pid: process.pid,
    }));
  },
};

export const cpuHandler: TaskHandler<DiagnosticCpuDto> = {
  run({ seconds, ignore_signals: ignoreSignals = true }) {
    const ignore = (): void => undefined;
    if (ignoreSignals) for (const s of IGNORED_SIGNALS) process.on(s, ignore);
    try {
      const end = Date.now() + seconds * 1000;
      let iterations = 0;
      while (++iterations % CPU_CLOCK_EVERY !== 0 || Date.now() < end);
      return { pid: process.pid, iterations };
    } finally {
      // The child may run more tasks; it must answer SIGTERM again.
      for (const s of IGNORED_SIGNALS) process.off(s, ignore);
    }
  },
};

export const memoryHandler: TaskHandler<DiagnosticMemoryDto> = {
  async run({ mb, hold_seconds: holdSeconds = 0 }, ctx) {
    const chunks: Buffer[] = [];
    for (let left = mb * MIB; left > 0; left -= MEMORY_CHUNK_BYTES) {
      // Freshly mapped pages do not count in RSS until written, so every byte is touched.
      chunks.push(Buffer.allocUnsafeSlow(Math.min(MEMORY_CHUNK_BYTES, left)).fill(1));
    }
    if (holdSeconds > 0) await sleepUnlessAborted(holdSeconds * 1000, ctx.signal);
    // Reading the chunks after the hold is what keeps them alive across the await.
    const allocated = chunks.reduce((bytes, chunk) => bytes + chunk.length, 0);
    return { pid: process.pid, allocated_mb: allocated / MIB };
  },
};

export const failHandler: TaskHandler<DiagnosticFailDto> = {
  run({ message, retryable }) {
    const text = message ?? 'diagnostic.fail';
    throw retryable === false ? new NonRetryableTaskError(text) : new Error(text);
  },
};

export const crashHandler: TaskHandler<DiagnosticCrashDto> = {
  run() {
    process.exit(CRASH_EXIT_CODE);
  },
};
