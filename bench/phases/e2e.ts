import { HttpClient, sequential } from '../lib/http';
import { alternate, NO_RECYCLE, postMany, RECYCLE_10, SLUICE_PREFIX as PREFIX, SluiceStack, startSluiceStack } from '../lib/side-by-side';
import { callsPerTask, CommandStats, commandStats, countRoundTrips, memoryBreakdown, startRedis, usedMemory } from '../lib/redis';
import { batchAvailable, finishedCount, harnessReads, queueKeys, startApi, startWorker, SluiceWorker, submitBatches, waitFinished } from '../lib/sluice';
import { fmtSummary, Summary, summarize } from '../lib/stats';
import { count, Ctx, ratioRow } from '../lib/report';
import { Redis } from 'ioredis';
import { cpuMeter } from '../lib/cpu';

/** INFO commandstats and the harness's own counter reads at one moment, so a delta can leave the latter out. */
async function commandSnapshot(redis: Redis): Promise<{ stats: CommandStats; reads: typeof harnessReads }> {
  return { stats: await commandStats(redis), reads: { ...harnessReads } };
}

function callsSince(from: { stats: CommandStats; reads: typeof harnessReads }, to: { stats: CommandStats; reads: typeof harnessReads }, tasks: number): ReturnType<typeof callsPerTask> {
  return callsPerTask(from.stats, to.stats, tasks, { hmget: to.reads.hmget - from.reads.hmget, hgetall: to.reads.hgetall - from.reads.hgetall });
}

/** Submit `n` no-op tasks through the HTTP API (64 in flight) and wait until all have finished. */
async function e2eHttp(http: HttpClient, redis: Redis, n: number): Promise<{ perSecond: number; seconds: number; submitSeconds: number; completed: number }> {
  const { finished: before, completed: c0 } = await finishedCount(redis, PREFIX);
  const t0 = performance.now();
  const submitSeconds = await postMany(http, n);
  const done = await waitFinished(redis, PREFIX, before + n, 300_000);
  const seconds = (done.at - t0) / 1000;
  return { perSecond: n / seconds, seconds, submitSeconds, completed: done.completed - c0 };
}

interface MonitorSamples {
  metrics: number[];
  health: number[];
}

/** Latency of the two monitoring endpoints, one request at a time, alternating; appends to `into`. */
async function monitorInto(http: HttpClient, samples: number, into: MonitorSamples): Promise<void> {
  const m = into.metrics;
  const h = into.health;
  await sequential(samples, 2, async () => {
    const a = await http.request('GET', '/api/v1/tasks/metrics');
    if (a.status !== 200) throw new Error(`metrics answered ${a.status}`);
    m.push(a.ms);
    const b = await http.request('GET', '/api/v1/tasks/health');
    if (b.status !== 200) throw new Error(`health answered ${b.status}`);
    h.push(b.ms);
  });
}

async function monitoring(http: HttpClient, samples: number): Promise<{ metrics: Summary; health: Summary }> {
  const into: MonitorSamples = { metrics: [], health: [] };
  await monitorInto(http, samples, into);
  return { metrics: summarize(into.metrics), health: summarize(into.health) };
}

/**
 * Sluice end to end with no-op tasks, submitted through the HTTP API (the honest figure: it pays
 * for validation, the status record and every status transition), at WORKER_CONCURRENCY=2:
 * recycling off, then the default recycling after 10 tasks. The same Redis then grows to ~100k
 * retained finished tasks, for the monitoring endpoints' latency and Redis memory per task.
 */
export async function e2ePhase(ctx: Ctx): Promise<void> {
  const { p } = ctx;
  const redis = await startRedis('e2e');
  let api = await startApi(ctx.run, redis.url, PREFIX);
  let worker: SluiceWorker | null = await startWorker(ctx.run, redis.url, PREFIX, NO_RECYCLE, 'worker-norecycle');
  let http = api.http;
  try {
    await postMany(http, p.warmN);
    await waitFinished(redis.client, PREFIX, p.warmN, 120_000);
    const mon1k = await monitoring(http, p.monitorSamples);
    const retained0 = (await finishedCount(redis.client, PREFIX)).finished;
    const mem0 = await usedMemory(redis.client);

    const cs0 = await commandSnapshot(redis.client);
    let meter = cpuMeter([api.proc, worker.proc, redis.proc]);
    const noRecycle = await e2eHttp(http, redis.client, p.e2eN);
    const cpu: Record<string, unknown> = { noRecycle: meter.stop(p.e2eN, noRecycle.seconds) };
    const cs1 = await commandSnapshot(redis.client);
    const calls = callsSince(cs0, cs1, p.e2eN);
    ctx.shared.sluiceE2e = noRecycle.perSecond;
    ctx.details.sluiceCallsPerTask = calls;
    ctx.log(`sluice e2e (http, no recycling): ${noRecycle.perSecond.toFixed(0)} tasks/s, ${calls.total} Redis commands per task`);

    // Through the batch endpoint: the cheaper submission path Sluice also offers; labelled as such.
    if (await batchAvailable(http)) {
      const before = (await finishedCount(redis.client, PREFIX)).finished;
      const b0 = await commandSnapshot(redis.client);
      meter = cpuMeter([api.proc, worker.proc, redis.proc]);
      const t0 = performance.now();
      await submitBatches(http, p.e2eN, 1000, 2);
      const done = await waitFinished(redis.client, PREFIX, before + p.e2eN, 300_000);
      ctx.shared.sluiceE2eBatch = p.e2eN / ((done.at - t0) / 1000);
      cpu.batchSubmit = meter.stop(p.e2eN, (done.at - t0) / 1000);
      ctx.details.sluiceCallsPerTaskBatch = callsSince(b0, await commandSnapshot(redis.client), p.e2eN);
    }

    // Top-level Redis commands per task, by process and by script (MONITOR: apart from timed runs).
    ctx.details.sluiceRoundTrips = await countRoundTrips(redis.url, p.roundTripN, async () => {
      const before = (await finishedCount(redis.client, PREFIX)).finished;
      await postMany(http, p.roundTripN);
      await waitFinished(redis.client, PREFIX, before + p.roundTripN, 60_000);
    }, ctx.run.distDir);

    // The recycling row: a second stack (its own Redis, API and worker) with the default recycling
    // after 10 tasks, in turns with this one (no recycling), single POSTs on both sides. Its warm-up
    // is short: a recycling worker runs a few hundred no-op tasks a second.
    let recycleStack: SluiceStack | null = null;
    let recycleSide: Awaited<ReturnType<typeof alternate>>;
    try {
      recycleStack = await startSluiceStack(ctx, 'e2e-recycle10', { worker: RECYCLE_10, warm: Math.min(200, Math.ceil(p.warmN / 2)) });
      const rs = recycleStack;
      // --smoke: one round each, to stay under a minute.
      const rounds = ctx.smoke ? 1 : 2;
      const n = Math.ceil(p.e2eN / rounds);
      meter = cpuMeter([rs.api.proc, rs.worker.proc, rs.redis.proc]);
      let recycleSeconds = 0;
      recycleSide = await alternate(
        rounds,
        async () => ({ ...(await e2eHttp(http, redis.client, n)), n }),
        async () => {
          const r = await rs.round(n, 'single');
          recycleSeconds += r.seconds;
          return { ...r, n };
        },
      );
      cpu.recycle10 = meter.stop(rounds * n, recycleSeconds);
    } finally {
      await recycleStack?.stop();
    }
    ctx.details.sluiceCpu = cpu;
    ctx.details.sluiceRecycleSide = recycleSide;
    const recycleN = ctx.smoke ? p.e2eN : Math.ceil(p.e2eN / 2);
    ctx.shared.sluiceE2eRecycle = recycleSide.sluice;
    ctx.shared.sluiceE2eNoRecycleSide = recycleSide.peer;
    await worker.stop();

    // Grow to ~100k retained finished tasks. Without recycling: with it, forking children bounds
    // no-op throughput to a few hundred tasks/s and the fill alone would take minutes.
    const fillStart = (await finishedCount(redis.client, PREFIX)).finished;
    const fill = Math.max(0, p.retainBig - fillStart);
    // --smoke has retained enough already: no worker to boot.
    worker = fill > 0 ? await startWorker(ctx.run, redis.url, PREFIX, NO_RECYCLE, 'worker-fill') : null;
    const tf = performance.now();
    if (await batchAvailable(http)) await submitBatches(http, fill, 1000, 2);
    else await postMany(http, fill);
    const filled = await waitFinished(redis.client, PREFIX, fillStart + fill, 600_000, 20);
    const sustained = fill > 0 ? fill / ((filled.at - tf) / 1000) : 0;
    await new Promise((r) => setTimeout(r, 500));
    const retained1 = (await finishedCount(redis.client, PREFIX)).finished;
    const mem1 = await usedMemory(redis.client);
    const mon100k = await monitoring(http, p.monitorSamples);
    // The same data, a fresh API process (warmed on these two endpoints only): tells the data's
    // effect apart from the long-lived process's (heap, JIT state).
    await api.stop();
    // The rows: this fresh API on the big Redis against a fresh stack with ~2k retained, in turns,
    // so that neither process age nor the machine's drift over the fill tells them apart. Both boot
    // at once.
    const [fresh, small] = await Promise.all([startApi(ctx.run, redis.url, PREFIX, {}, 'api-fresh'), startSluiceStack(ctx, 'e2e-small')]);
    api = fresh;
    http = api.http;
    await monitoring(http, Math.min(200, p.monitorSamples));
    const mon100kFresh = await monitoring(http, p.monitorSamples);
    const bigSide: MonitorSamples = { metrics: [], health: [] };
    const smallSide: MonitorSamples = { metrics: [], health: [] };
    let retainedSmall: number;
    try {
      await monitoring(small.api.http, Math.min(200, p.monitorSamples));
      for (let round = 0; round < 4; round++) {
        await monitorInto(http, Math.ceil(p.monitorSamples / 4), bigSide);
        await monitorInto(small.api.http, Math.ceil(p.monitorSamples / 4), smallSide);
      }
      retainedSmall = (await finishedCount(small.redis.client, PREFIX)).finished;
    } finally {
      await small.stop();
    }
    const bytesPerTask = (mem1 - mem0) / (retained1 - retained0);
    ctx.shared.sluiceBytesPerTask = bytesPerTask;
    const memKeys = await memoryBreakdown(redis.client, queueKeys(PREFIX).base, retained1);

    ctx.rows.push(
      ratioRow({
        id: 'e2e_recycle',
        workload: 'no-op tasks end to end, HTTP submit (single POSTs, 64 in flight), concurrency 2, recycling after 10 tasks (default)',
        sluice: recycleSide.sluice,
        baseline: recycleSide.peer,
        unit: 'tasks/s',
        against: 'the same without recycling (another Redis, API and worker, in turns)',
        min: 0.4,
        note:
          `rounds of ${recycleN} in turns, without recycling first: ${recycleSide.peerRounds.join(', ')} / with recycling ${recycleSide.sluiceRounds.join(', ')} tasks/s; ` +
          `the first run of ${p.e2eN} without recycling: ${Math.round(noRecycle.perSecond)} tasks/s` +
          (fill > 0 ? `; sustained rate while filling to ${count(retained1)} retained (batch submit, no recycling): ${Math.round(sustained)} tasks/s` : ''),
        data: { side: recycleSide, noRecycle, sustained },
      }),
    );
    for (const [key, label] of [['metrics', 'GET /api/v1/tasks/metrics'], ['health', 'GET /api/v1/tasks/health']] as const) {
      const big = summarize(bigSide[key]);
      const small = summarize(smallSide[key]);
      ctx.rows.push(
        ratioRow({
          id: `${key}_retained`,
          workload: `${label} latency p50, ${count(retained1)} tasks retained`,
          sluice: big.p50,
          baseline: small.p50,
          unit: 'ms',
          digits: 2,
          against: `the same with ${count(retainedSmall)} retained (another Redis and API, in turns)`,
          max: 1.3,
          note:
            `${label} p50/p99/max: ${fmtSummary(big)} at ${retained1} retained vs ${fmtSummary(small)} at ${retainedSmall}, two fresh API processes in turns; p99 ratio ${(big.p99 / small.p99).toFixed(2)}×; ` +
            `one API process measured before and after the fill, minutes apart: ${fmtSummary(mon1k[key])} at ${retained0}, ${fmtSummary(mon100k[key])} at ${retained1} (p50 ${(mon100k[key].p50 / mon1k[key].p50).toFixed(2)}×)`,
          data: { big, small, sequential: { small: mon1k[key], big: mon100k[key], fresh: mon100kFresh[key] }, retained0, retained1, retainedSmall },
        }),
      );
    }
    ctx.details.sluiceMemory = { mem0, mem1, retained0, retained1, bytesPerTask, keys: memKeys };
  } finally {
    await worker?.stop();
    await api.stop();
    await redis.stop();
  }
}
