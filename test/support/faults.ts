import { execFileSync } from 'node:child_process';
import { freePort } from '../../src/app/embedded-redis';
import { TEST_API_KEY } from './app';
import { Spawned, spawnEntry } from './process';
import { Stack, TaskView } from './stack';
import { waitFor } from './wait';

/**
 * Helpers for fault-injection suites (test/reliability/): freezing and thawing processes, worker
 * processes with a metrics port, Prometheus text, and listing every task through the API.
 */

/** SIGSTOP: the process keeps its sockets and memory but runs nothing until thawed. */
export function freeze(pid: number): void {
  process.kill(pid, 'SIGSTOP');
}

/** SIGCONT: resumes a frozen process. Harmless on a running one. */
export function thaw(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // already gone
  }
}

/** Nest's ConsoleLogger writes ANSI colours into pipes too. */
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Lines of `text` (ANSI stripped) that contain `needle`. */
export function linesWith(text: string, needle: string): string[] {
  return stripAnsi(text)
    .split('\n')
    .filter((l) => l.includes(needle));
}

/** Pids of the direct children of `pid` (a worker's pool children). */
export function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Sum of every sample of `name` in Prometheus text whose labels include `labels`.
 * `name` is the exact sample name (`foo_total`, `foo_bucket`, ...).
 */
export function promSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[kv[1]] = kv[2];
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

export interface WorkerProcess extends Spawned {
  port: number;
  pid: number;
  /** GET on the worker's HTTP port (probes and /metrics). */
  get(path: string): Promise<{ status: number; text: string }>;
  /** Prometheus text from the worker's /metrics. */
  metrics(): Promise<string>;
  /** Ends the process (thawing it first) and waits for it. */
  kill(): Promise<void>;
}

/** The env a worker process needs to join a Stack's Redis, plus `extra`. */
export function workerEnvFor(s: Stack, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: s.redis.url,
    QUEUE_PREFIX: s.redis.prefix,
    API_KEYS: TEST_API_KEY,
    ENABLE_DIAGNOSTIC_TASKS: 'true',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Spawns `node src/worker.ts` as its own OS process on a free WORKER_PORT; capture its output. */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort();
  const sp = spawnEntry('worker.ts', { ...env, WORKER_PORT: String(port) });
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, text: await res.text() };
  };
  return {
    ...sp,
    port,
    pid: sp.child.pid!,
    get,
    metrics: async () => {
      const r = await get('/metrics');
      if (r.status !== 200) throw new Error(`worker /metrics answered ${r.status}`);
      return r.text;
    },
    kill: async () => {
      if (sp.child.exitCode !== null || sp.child.signalCode !== null) return;
      thaw(sp.child.pid!);
      sp.child.kill('SIGKILL');
      await sp.exited;
    },
  };
}

/** Waits until the worker answers ready (Redis reachable, child pool up) and consumes its queues. */
export async function waitReady(w: WorkerProcess, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `worker pid=${w.pid} to be ready`,
    async () => {
      if (w.child.exitCode !== null) throw new Error(`worker exited early with code ${w.child.exitCode}:\n${w.output().slice(-2000)}`);
      const ready = (await w.get('/health/ready').catch(() => ({ status: 0 }))).status === 200;
      return ready && stripAnsi(w.output()).includes('Worker consuming');
    },
    timeoutMs,
    100,
  );
}

/** Every task the API lists, following next_cursor page by page. */
export async function listAllTasks(s: Stack, pageSize = 100): Promise<(TaskView & { task_name: string })[]> {
  const all: (TaskView & { task_name: string })[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const q: Record<string, string> = { limit: String(pageSize) };
    if (cursor) q.cursor = cursor;
    const res = await s.http().get('/api/v1/tasks').query(q).set('X-API-Key', TEST_API_KEY);
    if (res.status !== 200) throw new Error(`list answered ${res.status} ${JSON.stringify(res.body)}`);
    all.push(...res.body.items);
    cursor = res.body.next_cursor;
    if (!cursor) return all;
  }
  throw new Error('list did not end');
}

/** The JSON metrics of the API (GET /api/v1/tasks/metrics). */
export async function jsonMetrics(s: Stack): Promise<{
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  retried_tasks: number;
  cancelled_tasks: number;
  currently_running: number;
}> {
  const res = await s.http().get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY);
  if (res.status !== 200) throw new Error(`metrics answered ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.metrics;
}

export const FINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

/** Short locks and backoff, so that a run lost with its worker comes back within seconds. */
export const FAST_RECOVERY_POLICY = {
  TASK_MAX_RETRIES: '2',
  TASK_RETRY_BACKOFF: '0.2',
  TASK_RETRY_JITTER: 'false',
  WORKER_LOCK_DURATION: '1',
  WORKER_STALLED_INTERVAL: '0.5',
};

/**
 * Boots a worker and parks it (frozen while idle, so it holds nothing): the next worker to start
 * takes the tasks, and this one takes over once thawed.
 */
export async function parkedWorker(env: Record<string, string>, workers: WorkerProcess[]): Promise<WorkerProcess> {
  const w = await spawnWorker(env);
  workers.push(w);
  await waitReady(w);
  freeze(w.pid);
  return w;
}
