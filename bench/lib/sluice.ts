import { join } from 'node:path';
import { ChainableCommander, Redis } from 'ioredis';
import { QueueKeys } from '../../src/tasks/lifecycle/task-keys';
import { parseRecord, RECORD_FIELDS, TaskRecord } from '../../src/tasks/lifecycle/task-record';
import { QueueName } from '../../src/task-types/queue-names';
import { freePort } from '../../src/app/embedded-redis';
import { HttpClient, sleep } from './http';
import { launch, Proc } from './procs';

export const API_KEY = 'bench-key-0123456789abcdef';
export const NOOP = { task_name: 'diagnostic.sleep', payload: { seconds: 0 } };
export const NOOP_BODY = JSON.stringify(NOOP);

export interface RunOptions {
  /** Directory of the built app (a snapshot of dist/, see run.ts). */
  distDir: string;
  /** `--cpu-prof` into this directory, when profiling. */
  profileDir?: string;
}

/** The environment the product issue prescribes for Sluice's processes, plus per-run overrides. */
export function sluiceEnv(redisUrl: string, prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    API_KEYS: API_KEY,
    ENABLE_DIAGNOSTIC_TASKS: 'true',
    LOG_LEVEL: 'warn',
    // The rows run with rate limiting off (one row of the api phase turns it back on).
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0',
    ...extra,
  };
}

function nodeArgs(opts: RunOptions, entry: string, label: string): string[] {
  const prof = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`] : [];
  return [...prof, join(opts.distDir, entry)];
}

async function waitReady(proc: Proc, port: number, timeoutMs = 30_000): Promise<void> {
  const http = new HttpClient(port, {}, 1);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (!proc.alive) throw new Error(`${proc.name} exited ${JSON.stringify(proc.exitInfo)}: ${proc.tail()}`);
      const r = await http.request('GET', '/health/ready').catch(() => null);
      if (r?.status === 200) return;
      await sleep(20);
    }
    throw new Error(`${proc.name} not ready on port ${port} within ${timeoutMs} ms: ${proc.tail()}`);
  } finally {
    http.close();
  }
}

export interface SluiceApi {
  proc: Proc;
  port: number;
  http: HttpClient;
  stop(): Promise<void>;
}

export async function startApi(opts: RunOptions, redisUrl: string, prefix: string, extra: Record<string, string> = {}, label = 'api'): Promise<SluiceApi> {
  const port = await freePort();
  const proc = launch(`sluice-${label}`, process.execPath, nodeArgs(opts, 'main.js', label), { env: sluiceEnv(redisUrl, prefix, { PORT: String(port), ...extra }) });
  await waitReady(proc, port);
  const http = new HttpClient(port, { 'x-api-key': API_KEY }, 64);
  return {
    proc,
    port,
    http,
    stop: async () => {
      http.close();
      await proc.stop(10_000);
    },
  };
}

export interface SluiceWorker {
  proc: Proc;
  port: number;
  stop(): Promise<void>;
}

export async function startWorker(opts: RunOptions, redisUrl: string, prefix: string, extra: Record<string, string> = {}, label = 'worker'): Promise<SluiceWorker> {
  const port = await freePort();
  // The worker never listens on PORT, but config validation wants it distinct from WORKER_PORT.
  const unused = port === 65535 ? port - 1 : port + 1;
  const proc = launch(`sluice-${label}`, process.execPath, nodeArgs(opts, 'worker.js', label), {
    env: sluiceEnv(redisUrl, prefix, { WORKER_PORT: String(port), PORT: String(unused), ...extra }),
  });
  await waitReady(proc, port);
  return { proc, port, stop: async () => void (await proc.stop(10_000)) };
}

/** The queue every task type the bench submits runs on (diagnostic.* and automated_gather_creation). */
export const BENCH_QUEUE = QueueName.CpuIntensive;

/** Key names of the bench's queue under `prefix`, from Sluice's own layout (a task is its BullMQ job). */
export const queueKeys = (prefix: string, queue: string = BENCH_QUEUE): QueueKeys => new QueueKeys(prefix, queue);

/**
 * The harness's own reads of the counters hash (completion polls): `INFO commandstats` counts them
 * too, so the call counts subtract them (see callsPerTask's `exclude`).
 */
export const harnessReads = { hmget: 0, hgetall: 0 };

/** Sluice's JSON counters of one queue (the hash every transition updates): cheap to poll. */
export async function statsCounters(redis: Redis, prefix: string, queue: string = BENCH_QUEUE): Promise<Record<string, number>> {
  harnessReads.hgetall++;
  const h = await redis.hgetall(queueKeys(prefix, queue).stats);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Number(v);
  return out;
}

/** The bench keeps the default TASK_RESULT_EXPIRES, so nothing it reads has expired. */
const BENCH_RETENTION_SECONDS = 86_400;

/** Finished = completed + failed + cancelled; a task that fails must not hang the wait. */
export async function finishedCount(redis: Redis, prefix: string, queue: string = BENCH_QUEUE): Promise<{ completed: number; finished: number }> {
  harnessReads.hgetall++;
  // A completed task counts under its name (duration_count:<name>), as the JSON metrics sum it.
  const h = await redis.hgetall(queueKeys(prefix, queue).stats);
  let completed = 0;
  for (const [k, v] of Object.entries(h)) if (k.startsWith('duration_count:')) completed += Number(v);
  return { completed, finished: completed + Number(h.failed ?? 0) + Number(h.cancelled ?? 0) };
}

export async function waitFinished(redis: Redis, prefix: string, target: number, timeoutMs: number, everyMs = 5): Promise<{ at: number; completed: number }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { completed, finished } = await finishedCount(redis, prefix);
    const now = performance.now();
    if (finished >= target) return { at: now, completed };
    if (now > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${finished} of ${target} tasks finished (${prefix})`);
    await sleep(everyMs);
  }
}

/** Queues the HMGET of one task's record (its job hash) on a pipeline or client. */
function readRecord(pipe: ChainableCommander, prefix: string, id: string, queue: string = BENCH_QUEUE): ChainableCommander {
  return pipe.hmget(queueKeys(prefix, queue).job(id), ...RECORD_FIELDS);
}

/** One task as the API sees it (Sluice's parseRecord of its job hash), or null when there is none. */
export async function taskRecord(redis: Redis, prefix: string, id: string, queue: string = BENCH_QUEUE): Promise<TaskRecord | null> {
  return parseRecord(id, queue, await redis.hmget(queueKeys(prefix, queue).job(id), ...RECORD_FIELDS), Date.now(), BENCH_RETENTION_SECONDS);
}

/** Many records in one pipeline, in the order of `ids` (null where a task is missing). */
export async function taskRecords(redis: Redis, prefix: string, ids: string[], queue: string = BENCH_QUEUE): Promise<(TaskRecord | null)[]> {
  const pipe = redis.pipeline();
  for (const id of ids) readRecord(pipe, prefix, id, queue);
  const now = Date.now();
  return ((await pipe.exec()) ?? []).map(([err, v], i) => (err ? null : parseRecord(ids[i], queue, v as (string | null)[], now, BENCH_RETENTION_SECONDS)));
}

/** Submits one task through the API; returns its id. */
export async function submit(http: HttpClient, body: unknown = NOOP): Promise<{ id: string; sentAt: number; ms: number }> {
  const r = await http.json<{ task_id: string }>('POST', '/api/v1/tasks', body, [201]);
  return { id: r.data.task_id, sentAt: r.sentAt, ms: r.ms };
}

export interface BatchReply {
  items: { task_id?: string; status_code?: number }[];
  created: number;
  failed: number;
}

/** Whether POST /api/v1/tasks/batch exists in this build (it was being added when the bench was written). */
export async function batchAvailable(http: HttpClient): Promise<boolean> {
  const r = await http.request('POST', '/api/v1/tasks/batch', JSON.stringify({ tasks: [] }));
  return r.status !== 404;
}

export function batchBody(n: number, task: unknown = NOOP): string {
  const one = JSON.stringify(task);
  return `{"tasks":[${Array.from({ length: n }, () => one).join(',')}]}`;
}

/** Submits `n` tasks through the batch endpoint, `per` at a time with `inFlight` requests; returns ids. */
export async function submitBatches(http: HttpClient, n: number, per = 1000, inFlight = 2, task: unknown = NOOP): Promise<string[]> {
  const ids: string[] = [];
  let left = n;
  const lane = async (): Promise<void> => {
    while (left > 0) {
      const k = Math.min(per, left);
      left -= k;
      const r = await http.request('POST', '/api/v1/tasks/batch', batchBody(k, task));
      if (r.status !== 200 && r.status !== 201) throw new Error(`batch answered ${r.status}: ${r.body.slice(0, 300)}`);
      const data = JSON.parse(r.body) as BatchReply;
      if (data.created !== k) throw new Error(`batch created ${data.created} of ${k}: ${r.body.slice(0, 300)}`);
      for (const it of data.items) if (it.task_id) ids.push(it.task_id);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return ids;
}
