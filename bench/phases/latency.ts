import { Redis } from 'ioredis';
import { HttpClient, sleep } from '../lib/http';
import { startRedis } from '../lib/redis';
import { batchAvailable, finishedCount, SluiceApi, SluiceWorker, startApi, startWorker, submit, submitBatches, taskRecord, taskRecords, waitFinished } from '../lib/sluice';
import { summarize } from '../lib/stats';
import { childrenOf, firstDeath, rssBytes } from '../lib/sysinfo';
import { Ctx } from '../lib/report';

const PREFIX = 'sluice';
const MIB = 1024 * 1024;

async function until<T>(what: string, timeoutMs: number, everyMs: number, probe: () => Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const statusIs = (redis: Redis, id: string, ...statuses: string[]) => async () => {
  const r = await taskRecord(redis, PREFIX, id);
  return r && statuses.includes(r.status) ? r : null;
};

/** A worker's pool is ready again: its seats and spare are forked and idle (no fork in progress). */
async function poolSettled(worker: SluiceWorker, expected: number): Promise<number[]> {
  return until('the pool to refill', 10_000, 10, async () => {
    const kids = childrenOf(worker.proc.pid);
    return kids.length >= expected ? kids : null;
  });
}

/**
 * Submit to an idle worker until the task starts: the task's started_at (BullMQ's processedOn, the
 * worker's clock at the moveToActive that hands the task to a child) minus Date.now() when the POST
 * was issued, and minus its submitted_at (the job's timestamp, the API's clock before its Redis
 * write: Celery's "publish"). All are this
 * machine's wall clock in whole milliseconds, so each sample is ±1 ms.
 */
async function startLatency(http: HttpClient, redis: Redis, n: number): Promise<{ fromPost: number[]; fromSubmit: number[] }> {
  const fromPost: number[] = [];
  const fromSubmit: number[] = [];
  for (let i = 0; i < n; i++) {
    const { id, sentAt } = await submit(http);
    const h = await until('task start', 10_000, 2, statusIs(redis, id, 'completed', 'failed'));
    fromPost.push(Number(h.startedAt) - sentAt);
    fromSubmit.push(Number(h.startedAt) - h.submittedAt);
    await sleep(20);
  }
  return { fromPost, fromSubmit };
}

interface CancelSample {
  deathMs: number;
  deleteMs: number;
  status: number;
}

/**
 * Cancels running tasks one at a time: from issuing the DELETE until the child running the task
 * is dead (polled every ~0.1 ms among the worker's children), and until the DELETE's reply.
 */
async function cancels(api: SluiceApi, redis: Redis, worker: SluiceWorker, body: unknown, n: number, parallel = 1): Promise<CancelSample[]> {
  const out: CancelSample[] = [];
  for (let i = 0; i < n; i += parallel) {
    const k = Math.min(parallel, n - i);
    await poolSettled(worker, 3);
    const ids: string[] = [];
    for (let j = 0; j < k; j++) ids.push((await submit(api.http, body)).id);
    for (const id of ids) await until('task to run', 10_000, 5, statusIs(redis, id, 'processing'));
    await sleep(50);
    const pids = childrenOf(worker.proc.pid);
    const sent: number[] = [];
    const deaths = deathsOf(pids, k, 30_000);
    const replies = await Promise.all(
      ids.map((id) => {
        sent.push(performance.now());
        return api.http.request('DELETE', `/api/v1/tasks/${id}`);
      }),
    );
    // With several cancels at once, the n-th death is paired with the n-th DELETE sent.
    const died = await deaths;
    replies.forEach((r, j) => out.push({ deathMs: died[j] - sent[j], deleteMs: r.ms, status: r.status }));
    await sleep(300);
  }
  return out;
}

/** Times (performance.now) at which `k` of `pids` were seen dead, in order. */
async function deathsOf(pids: number[], k: number, timeoutMs: number): Promise<number[]> {
  const left = [...pids];
  const out: number[] = [];
  while (out.length < k) {
    const d = await firstDeath(left, timeoutMs);
    out.push(d.at);
    left.splice(left.indexOf(d.pid), 1);
  }
  return out;
}

/**
 * Hard time limit: busy loops (diagnostic.cpu, ignoring SIGTERM) under TASK_TIME_LIMIT=0.3 s.
 * The overshoot is the recorded duration minus the limit, and the child's death (polled) minus
 * the task's started_at (processedOn) minus the limit.
 */
async function timeLimits(api: SluiceApi, redis: Redis, worker: SluiceWorker, n: number, limitS: number): Promise<{ duration: number[]; death: number[]; errors: string[] }> {
  const duration: number[] = [];
  const death: number[] = [];
  const errors: string[] = [];
  for (let i = 0; i < n; i++) {
    await poolSettled(worker, 3);
    const { id } = await submit(api.http, { task_name: 'diagnostic.cpu', payload: { seconds: limitS * 10 } });
    await until('task to run', 10_000, 2, statusIs(redis, id, 'processing'));
    const pids = childrenOf(worker.proc.pid);
    const d = await firstDeath(pids, 30_000);
    const h = await until('task to fail', 10_000, 5, statusIs(redis, id, 'failed', 'retrying', 'completed'));
    duration.push(Number(h.duration) * 1000 - limitS * 1000);
    death.push(performance.timeOrigin + d.at - Number(h.startedAt) - limitS * 1000);
    errors.push(h.error?.type ?? h.status);
    await sleep(150);
  }
  return { duration, death, errors };
}

/**
 * Sluice's latencies (submit to start, cancel, hard time limit), its processes' memory, and the
 * seed's delivery settings draining 500 tasks queued before the worker starts.
 */
export async function latencyPhase(ctx: Ctx): Promise<void> {
  const { p } = ctx;
  const redis = await startRedis('latency');
  // No retries anywhere in this phase: a killed task should end failed, not come back.
  const api = await startApi(ctx.run, redis.url, PREFIX, { TASK_MAX_RETRIES: '0' });
  let worker: SluiceWorker | null = null;
  const base = { WORKER_CONCURRENCY: '2', TASK_MAX_RETRIES: '0' };
  try {
    worker = await startWorker(ctx.run, redis.url, PREFIX, { ...base, WORKER_MAX_TASKS_PER_CHILD: '0' }, 'worker-latency');
    await poolSettled(worker, 3);
    const startNoRecycle = await startLatency(api.http, redis.client, p.latencyN);

    const kids = childrenOf(worker.proc.pid);
    const apiRss = rssBytes(api.proc.pid) ?? 0;
    ctx.details.sluiceMemory = {
      ...(ctx.details.sluiceMemory as object | undefined),
      workerParentMiB: (rssBytes(worker.proc.pid) ?? 0) / MIB,
      childMiB: kids.map((k) => (rssBytes(k) ?? 0) / MIB),
      apiMiB: apiRss / MIB,
    };

    // The row: a busy loop that does not trap signals, so the child dies at the first SIGTERM.
    const cancelSleep = await cancels(api, redis.client, worker, { task_name: 'diagnostic.cpu', payload: { seconds: 60, ignore_signals: false } }, p.cancelN);
    // diagnostic.cpu ignores SIGTERM, so the default WORKER_CANCEL_GRACE (5 s) runs out before SIGKILL.
    const cancelCpuGrace = p.cancelGraceN > 0 ? await cancels(api, redis.client, worker, { task_name: 'diagnostic.cpu', payload: { seconds: 60 } }, p.cancelGraceN, 2) : [];
    await worker.stop();

    // --smoke leaves out the variants that differ from a path above only by a setting (each costs a
    // worker's boot, ~2 s), so that it stays under a minute.
    let cancelCpuKill: CancelSample[] = [];
    if (!ctx.smoke) {
      worker = await startWorker(ctx.run, redis.url, PREFIX, { ...base, WORKER_MAX_TASKS_PER_CHILD: '0', WORKER_CANCEL_GRACE: '0' }, 'worker-grace0');
      await poolSettled(worker, 3);
      cancelCpuKill = await cancels(api, redis.client, worker, { task_name: 'diagnostic.cpu', payload: { seconds: 60 } }, p.cancelN);
      await worker.stop();
    }

    worker = await startWorker(ctx.run, redis.url, PREFIX, { ...base, WORKER_MAX_TASKS_PER_CHILD: '0', TASK_TIME_LIMIT: '0.3', TASK_SOFT_TIME_LIMIT: '0.2' }, 'worker-limit');
    const limit = await timeLimits(api, redis.client, worker, p.timeLimitN, 0.3);
    await worker.stop();

    // Default recycling (10 tasks per child), for the start latency as users get it.
    let startDefault: { fromPost: number[]; fromSubmit: number[] } = { fromPost: [], fromSubmit: [] };
    if (!ctx.smoke) {
      worker = await startWorker(ctx.run, redis.url, PREFIX, { ...base }, 'worker-default');
      await poolSettled(worker, 3);
      startDefault = await startLatency(api.http, redis.client, p.latencyN);
      await worker.stop();
      worker = null;
    }

    ctx.details.sluiceLatency = {
      startNoRecycle: summarize(startNoRecycle.fromPost),
      startNoRecycleFromSubmit: summarize(startNoRecycle.fromSubmit),
      startDefault: summarize(startDefault.fromPost),
      cancelSleepDeath: summarize(cancelSleep.map((s) => s.deathMs)),
      cancelSleepDelete: summarize(cancelSleep.map((s) => s.deleteMs)),
      cancelCpuGraceDeath: summarize(cancelCpuGrace.map((s) => s.deathMs)),
      cancelCpuGraceDelete: summarize(cancelCpuGrace.map((s) => s.deleteMs)),
      cancelCpuKillDeath: summarize(cancelCpuKill.map((s) => s.deathMs)),
      cancelCpuKillDelete: summarize(cancelCpuKill.map((s) => s.deleteMs)),
      cancelStatuses: [...new Set([...cancelSleep, ...cancelCpuGrace, ...cancelCpuKill].map((s) => s.status))],
      timeLimitDuration: summarize(limit.duration),
      timeLimitDeath: summarize(limit.death),
      timeLimitErrors: [...new Set(limit.errors)],
    };

    // The seed's delivery settings for long tasks: prefetch 1 (BullMQ acknowledges a job when it
    // finishes, like acks_late), concurrency 2 as the Celery peer, with the tasks queued before the
    // worker starts. Without recycling, as the Celery run; then with the default recycling after 10.
    const queuedFirst = async (recycle: string, label: string): Promise<{ n: number; seconds: number; perSecond: number }> => {
      const { finished: before } = await finishedCount(redis.client, PREFIX);
      const ids = (await batchAvailable(api.http)) ? await submitBatches(api.http, p.lateN, 1000, 1) : await submitSerial(api.http, p.lateN);
      worker = await startWorker(ctx.run, redis.url, PREFIX, { WORKER_CONCURRENCY: '2', WORKER_PREFETCH_MULTIPLIER: '1', WORKER_MAX_TASKS_PER_CHILD: recycle }, label);
      const done = await waitFinished(redis.client, PREFIX, before + p.lateN, 120_000);
      const starts = (await taskRecords(redis.client, PREFIX, ids)).map((r) => r?.startedAt ?? 0).filter((v) => v > 0);
      const seconds = (performance.timeOrigin + done.at - Math.min(...starts)) / 1000;
      await worker.stop();
      worker = null;
      return { n: p.lateN, seconds, perSecond: p.lateN / seconds };
    };
    const noRecycle = await queuedFirst('0', 'worker-seed');
    const recycle10 = ctx.smoke ? { n: 0, seconds: 0, perSecond: 0 } : await queuedFirst('10', 'worker-seed-recycle10');
    ctx.shared.sluiceQueuedFirst = noRecycle.perSecond;
    ctx.details.sluiceQueuedFirst = { noRecycle, recycle10 };
  } finally {
    await worker?.stop();
    await api.stop();
    await redis.stop();
  }
}

async function submitSerial(http: HttpClient, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await submit(http)).id);
  return ids;
}
