import { Redis } from 'ioredis';
import { celeryEnv, CeleryEnv, runDriver, startCeleryWorker, startPublisher } from '../peers/celery';
import { cpuMeter } from '../lib/cpu';
import { Proc } from '../lib/procs';
import { benchClient, startRedis, waitUntil } from '../lib/redis';
import { summarize } from '../lib/stats';
import { childrenOf, rssBytes } from '../lib/sysinfo';
import { Ctx } from '../lib/report';
import { alternate, RECYCLE_10, SluiceStack, startSluiceStack } from '../lib/side-by-side';

const MIB = 1024 * 1024;

/** Every finished task leaves one celery-task-meta key in the results database. */
const finished = (backend: Redis) => (): Promise<number> => backend.dbsize();

async function publishAndWait(ce: CeleryEnv, backend: Redis, n: number, task: string, watch: Proc[] = [], extra: Record<string, string> = {}): Promise<{ perSecond: number; seconds: number; cpu: Record<string, number> }> {
  const base = await backend.dbsize();
  const pub = await startPublisher(ce, n, task, extra);
  const meter = cpuMeter(watch);
  const t0 = performance.now();
  pub.go();
  const t1 = await waitUntil(finished(backend), base + n, 300_000, 5, 'celery results');
  const cpu = meter.stop(n, (t1 - t0) / 1000);
  // The producer reports its own CPU time: it has exited by now.
  const published = await pub.done;
  cpu['celery-publisher (load generator)'] = Math.round((published.cpu_seconds * 1e6) / n);
  cpu['total, ms per 1000 tasks'] += cpu['celery-publisher (load generator)'];
  return { perSecond: n / ((t1 - t0) / 1000), seconds: (t1 - t0) / 1000, cpu };
}

/**
 * Drains `n` tasks queued before the worker starts: from the first task's start (its own clock)
 * until all are done or `capSeconds` pass. Uses `started` tasks, whose result is their start time.
 */
async function queuedFirst(ce: CeleryEnv, backend: Redis, n: number, capSeconds: number, name: string, extra: Record<string, string>): Promise<{ perSecond: number; done: number; seconds: number; capped: boolean }> {
  await backend.flushdb();
  const pub = await startPublisher(ce, n, 'started', extra);
  pub.go();
  await pub.done;
  const worker = await startCeleryWorker(ce, name, extra);
  try {
    const deadline = performance.now() + capSeconds * 1000;
    let done = 0;
    while (performance.now() < deadline) {
      done = await backend.dbsize();
      if (done >= n) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const endWall = performance.timeOrigin + performance.now();
    // The first start, on the tasks' own clock (wall time on this machine).
    const keys = await backend.keys('celery-task-meta-*');
    const vals = keys.length ? await backend.mget(keys) : [];
    const starts = vals.map((v) => Number((JSON.parse(v ?? '{}') as { result?: number }).result) * 1000).filter(Number.isFinite);
    const first = Math.min(...starts);
    const seconds = (endWall - first) / 1000;
    return { perSecond: done / seconds, done, seconds, capped: done < n };
  } finally {
    await worker.stop(5000);
  }
}

/**
 * Celery 5 (Debian), prefork concurrency 2, prefetch 1, Redis broker and result backend, measured
 * in the same run: no-op throughput, submit-to-start latency, cancel (revoke terminate=True) and
 * hard time-limit precision, process memory; then the queued-first drain with and without acks_late.
 */
export async function celeryPhase(ctx: Ctx): Promise<void> {
  const { p } = ctx;
  const redis = await startRedis('celery');
  const ce = celeryEnv(redis.url);
  const backend = benchClient(`${redis.url}/1`, 'bench:celery-results');
  let worker: Proc | null = null;
  try {
    worker = await startCeleryWorker(ce, 'main');
    await publishAndWait(ce, backend, Math.min(200, p.warmN), 'noop');
    const { perSecond: rate, cpu } = await publishAndWait(ce, backend, p.celeryN, 'noop', [worker, redis.proc]);
    ctx.shared.celeryE2e = rate;
    ctx.details.celeryCpu = cpu;
    ctx.log(`celery e2e: ${rate.toFixed(0)} tasks/s`);

    // Row 5: Sluice fed by single POSTs against Celery's one publish per task, in alternating
    // rounds, each on a Redis of its own, so that the machine's drift hits both alike.
    let stack: SluiceStack | null = null;
    try {
      stack = await startSluiceStack(ctx, 'celery-sluice');
      const n = Math.ceil(p.celeryN / 2);
      const side = await alternate(
        2,
        async () => ({ ...(await publishAndWait(ce, backend, n, 'noop')), n }),
        async () => ({ ...(await stack!.round(n, 'single')), n }),
      );
      ctx.details.celerySideBySide = side;
      ctx.shared.celeryE2eSide = side.peer;
      ctx.shared.sluiceE2eSide = side.sluice;
    } finally {
      await stack?.stop();
    }

    // The recycling row: Celery with max_tasks_per_child=10 (its own queue and worker, one
    // producer) against Sluice's default recycling after 10 tasks (single POSTs, 64 in flight), in
    // turns, each on a Redis of its own.
    {
      const recycleQueue = { BENCH_QUEUE: 'recycle', BENCH_MAX_TASKS_PER_CHILD: '10' };
      let recycleWorker: Proc | null = null;
      let rstack: SluiceStack | null = null;
      try {
        [recycleWorker, rstack] = await Promise.all([
          startCeleryWorker(ce, 'recycle10', recycleQueue),
          startSluiceStack(ctx, 'celery-sluice-recycle10', { worker: RECYCLE_10, warm: Math.min(200, p.warmN) }),
        ]);
        await publishAndWait(ce, backend, Math.min(100, p.warmN), 'noop', [], recycleQueue);
        const n = Math.ceil(p.celeryRecycleN / 2);
        const rs = rstack;
        const side = await alternate(
          2,
          async () => ({ ...(await publishAndWait(ce, backend, n, 'noop', [], recycleQueue)), n }),
          async () => ({ ...(await rs.round(n, 'single')), n }),
        );
        ctx.details.celeryRecycleSideBySide = side;
        ctx.shared.celeryRecycle = side.peer;
        ctx.shared.sluiceRecycleVsCelery = side.sluice;
        ctx.log(`recycling after 10: celery ${side.peer.toFixed(0)} tasks/s, sluice ${side.sluice.toFixed(0)} tasks/s`);
      } finally {
        await Promise.all([recycleWorker?.stop(5000), rstack?.stop()]);
      }
    }

    const kids = childrenOf(worker.pid);
    ctx.details.celeryMemory = {
      mainMiB: (rssBytes(worker.pid) ?? 0) / MIB,
      childMiB: kids.map((k) => (rssBytes(k) ?? 0) / MIB),
    };

    const start = await runDriver<{ ms: number[] }>(ce, ['latency', String(p.latencyN), '0.02'], 120_000);
    const cancel = await runDriver<{ ms: number[] }>(ce, ['cancel', String(p.cancelN)], 180_000);
    const limit = await runDriver<{ ms: number[]; errors: string[] }>(ce, ['timelimit', String(p.timeLimitN), '0.3'], 180_000);
    ctx.details.celeryLatency = {
      start: summarize(start.ms),
      cancel: summarize(cancel.ms),
      timeLimit: summarize(limit.ms),
      timeLimitErrors: [...new Set(limit.errors)],
    };
    await worker.stop(5000);
    worker = null;

    // The seed's delivery settings for long tasks: prefetch 1 with acks_late, 500 queued first.
    const late = await queuedFirst(ce, backend, p.lateN, p.lateCapSeconds, 'late', { BENCH_ACKS_LATE: '1', BENCH_QUEUE: 'late' });
    const early = await queuedFirst(ce, backend, p.lateN, p.lateCapSeconds, 'early', { BENCH_ACKS_LATE: '0', BENCH_QUEUE: 'early' });
    ctx.details.celeryQueuedFirst = { acksLate: late, acksEarly: early };
    ctx.shared.celeryLate = late.perSecond;
    ctx.log(`celery queued-first drain: acks_late ${late.perSecond.toFixed(1)}/s, without ${early.perSecond.toFixed(0)}/s`);
  } finally {
    await worker?.stop(5000);
    backend.disconnect();
    ce.cleanup();
    await redis.stop();
  }
}
