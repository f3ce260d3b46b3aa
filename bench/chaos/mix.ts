/**
 * What the soak submits: a fixed mix of diagnostic tasks, each kind with the final states it may
 * legitimately reach. Every payload carries `run_log`, so each run that finishes its work leaves
 * one line in the run record (see diagnostic.handlers.ts).
 */

/** The worker and API settings the soak runs with: short locks and backoffs, so lost runs come back in seconds. */
export const CHAOS_ENV = {
  TASK_MAX_RETRIES: '3',
  TASK_RETRY_BACKOFF: '0.2',
  TASK_RETRY_BACKOFF_MAX: '1',
  TASK_RETRY_JITTER: 'true',
  TASK_TIME_LIMIT: '2',
  TASK_SOFT_TIME_LIMIT: '1.5',
  WORKER_CONCURRENCY: '2',
  WORKER_LOCK_DURATION: '2',
  WORKER_STALLED_INTERVAL: '1',
  WORKER_CANCEL_GRACE: '0.5',
  // KiB, as in Celery: ~107 MiB, above an idle child (~50 MiB) with `memory` (24 MiB) in it, and
  // low enough that memory_over_limit crosses it early in its allocation, even on a loaded machine.
  WORKER_MAX_MEMORY_PER_CHILD: '110000',
} as const;

export const MAX_ATTEMPTS = Number(CHAOS_ENV.TASK_MAX_RETRIES) + 1;

export type Kind =
  | 'sleep'
  | 'cpu'
  | 'memory'
  | 'fail_retry'
  | 'fail_final'
  | 'crash'
  | 'cpu_over_limit'
  | 'memory_over_limit'
  | 'cancel_running'
  | 'cancel_queued';

export type FinalStatus = 'completed' | 'failed' | 'cancelled';

export interface KindSpec {
  share: number;
  task_name: string;
  payload: (rnd: () => number) => Record<string, unknown>;
  delaySeconds?: number;
  /** The final outcomes of an undisturbed run, as `status` or `status:ErrorType`. */
  expected: string[];
  /**
   * What chaos may turn it into as well: a task whose runs were all lost (killed worker, frozen
   * Redis) fails with WorkerLostError once its attempts are used up; a cancel may come too late.
   */
  alsoAllowed: string[];
}

const LOST = 'failed:WorkerLostError';

export const KINDS: Record<Kind, KindSpec> = {
  sleep: { share: 0.74, task_name: 'diagnostic.sleep', payload: (r) => ({ seconds: Math.round(r() * 300) / 1000 }), expected: ['completed'], alsoAllowed: [LOST] },
  cpu: { share: 0.06, task_name: 'diagnostic.cpu', payload: (r) => ({ seconds: Math.round(50 + r() * 250) / 1000 }), expected: ['completed'], alsoAllowed: [LOST] },
  memory: { share: 0.03, task_name: 'diagnostic.memory', payload: () => ({ mb: 24, hold_seconds: 0.1 }), expected: ['completed'], alsoAllowed: [LOST] },
  fail_retry: { share: 0.05, task_name: 'diagnostic.fail', payload: () => ({ message: 'chaos retryable', retryable: true }), expected: ['failed:Error'], alsoAllowed: [LOST] },
  fail_final: { share: 0.03, task_name: 'diagnostic.fail', payload: () => ({ message: 'chaos final', retryable: false }), expected: ['failed:NonRetryableTaskError'], alsoAllowed: [LOST] },
  crash: { share: 0.01, task_name: 'diagnostic.crash', payload: () => ({}), expected: [LOST], alsoAllowed: [] },
  cpu_over_limit: { share: 0.003, task_name: 'diagnostic.cpu', payload: () => ({ seconds: 3 }), expected: ['failed:TimeLimitExceeded'], alsoAllowed: [LOST] },
  // A child starved of CPU (other load on the machine) may not touch 256 MiB before the hard limit.
  memory_over_limit: {
    share: 0.004,
    task_name: 'diagnostic.memory',
    payload: () => ({ mb: 256, hold_seconds: 1 }),
    expected: ['failed:MemoryLimitExceeded'],
    alsoAllowed: [LOST, 'failed:TimeLimitExceeded'],
  },
  // Sleeps long enough to be cancelled while it runs; the harness cancels once it is processing.
  cancel_running: { share: 0.03, task_name: 'diagnostic.sleep', payload: () => ({ seconds: 1.2 }), expected: ['cancelled'], alsoAllowed: ['completed', LOST] },
  // Held back by a delay, so it is still queued when the harness cancels it.
  cancel_queued: { share: 0.03, task_name: 'diagnostic.sleep', payload: () => ({ seconds: 0.05 }), delaySeconds: 30, expected: ['cancelled'], alsoAllowed: [] },
};

/** Kinds that must never complete: a completion would be an outcome nobody's handler produced. */
export const NEVER_COMPLETES: ReadonlySet<Kind> = new Set(['fail_retry', 'fail_final', 'crash', 'cpu_over_limit', 'memory_over_limit', 'cancel_queued']);

/** A small seeded PRNG (mulberry32), so a run can be repeated with --seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kinds that take several seconds to reach their final state (4 attempts, or 4 hard limits). */
const SLOW: ReadonlySet<Kind> = new Set(['cpu_over_limit', 'memory_over_limit', 'crash', 'fail_retry']);

/**
 * `n` kinds in a shuffled order, each kind at its share and at least once. With `slowFirst`, the
 * slow kinds all come in the first half, so that a short run does not wait for them at the end.
 */
export function planKinds(n: number, rnd: () => number, slowFirst = false): Kind[] {
  const kinds = Object.keys(KINDS) as Kind[];
  const out: Kind[] = [];
  for (const k of kinds) if (k !== 'sleep') for (let i = 0; i < Math.max(1, Math.round(KINDS[k].share * n)); i++) out.push(k);
  while (out.length < n) out.push('sleep');
  out.length = n;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  if (!slowFirst) return out;
  const slow = out.filter((k) => SLOW.has(k));
  const rest = out.filter((k) => !SLOW.has(k));
  const headLen = Math.max(slow.length, Math.ceil(n / 2));
  const fill = rest.slice(0, headLen - slow.length);
  // The slow ones at even intervals through the first half, rather than bunched at the start.
  const head: Kind[] = [];
  for (let i = 0, si = 0, fi = 0; i < headLen; i++) {
    if (si < slow.length && i >= Math.floor((si * headLen) / slow.length)) head.push(slow[si++]);
    else head.push(fill[fi++]);
  }
  return [...head, ...rest.slice(headLen - slow.length)];
}
