import { availableParallelism } from 'node:os';
import { sleep } from '../lib/http';
import { startRedis } from '../lib/redis';
import { Redis } from 'ioredis';
import { batchAvailable, finishedCount, SluiceWorker, startApi, startWorker, submit, submitBatches, taskRecord, taskRecords, waitFinished } from '../lib/sluice';
import { cityPayload } from '../gather-data';
import { Ctx, ratioRow } from '../lib/report';

const PREFIX = 'sluice';
const CPU_SECONDS = 0.05;

/**
 * CPU-bound tasks (diagnostic.cpu, a 50 ms busy loop) against the ideal of cores ÷ CPU time per
 * task, with the default recycling and without; then automated_gather_creation at growing sizes.
 */
export async function cpuPhase(ctx: Ctx): Promise<void> {
  const { p } = ctx;
  const redis = await startRedis('cpu');
  const api = await startApi(ctx.run, redis.url, PREFIX);
  let worker: SluiceWorker | null = null;
  const cores = availableParallelism();
  const ideal = cores / CPU_SECONDS;
  const body = { task_name: 'diagnostic.cpu', payload: { seconds: CPU_SECONDS } };
  const run = async (): Promise<{ perSecond: number; failed: number; overheadMs: Gaps }> => {
    const { finished: before, completed: c0 } = await finishedCount(redis.client, PREFIX);
    const t0 = performance.now();
    const ids: string[] = [];
    if (await batchAvailable(api.http)) {
      ids.push(...(await submitBatches(api.http, p.cpuN, 1000, 1, body)));
    } else {
      for (let i = 0; i < p.cpuN; i++) ids.push((await submit(api.http, body)).id);
    }
    const done = await waitFinished(redis.client, PREFIX, before + p.cpuN, 120_000, 5);
    return { perSecond: p.cpuN / ((done.at - t0) / 1000), failed: p.cpuN - (done.completed - c0), overheadMs: await gaps(redis.client, ids) };
  };
  try {
    worker = await startWorker(ctx.run, redis.url, PREFIX, { WORKER_CONCURRENCY: String(cores) }, 'worker-cpu-default');
    await sleep(300);
    const withRecycle = await run();
    await worker.stop();
    worker = await startWorker(ctx.run, redis.url, PREFIX, { WORKER_CONCURRENCY: String(cores), WORKER_MAX_TASKS_PER_CHILD: '0' }, 'worker-cpu-norecycle');
    await sleep(300);
    const noRecycle = await run();
    ctx.rows.push(
      ratioRow({
        id: 'cpu_bound',
        workload: `CPU-bound tasks (diagnostic.cpu 50 ms), concurrency ${cores}, default recycling`,
        sluice: withRecycle.perSecond,
        baseline: ideal,
        unit: 'tasks/s',
        against: `ideal: ${cores} cores ÷ 50 ms`,
        min: 0.9,
        note:
          `${p.cpuN} tasks submitted at once (batch); without recycling ${noRecycle.perSecond.toFixed(1)} tasks/s (${(noRecycle.perSecond / ideal).toFixed(2)}× ideal). ` +
          `Per task beyond the 50 ms loop, on the same child: ${withRecycle.overheadMs.perTask} ms (${withRecycle.overheadMs.insideRun} ms inside the recorded run, ${withRecycle.overheadMs.betweenTasks} ms between finish and next start); ` +
          `without recycling ${noRecycle.overheadMs.perTask} ms (${noRecycle.overheadMs.insideRun} + ${noRecycle.overheadMs.betweenTasks})`,
        data: { withRecycle, noRecycle, ideal },
      }),
    );

    // automated_gather_creation at growing sizes, one at a time, on the worker without recycling.
    const results: { n: number; e2eMs: number; runMs: number; submitMs: number; bytes: number; stats: unknown }[] = [];
    for (const n of p.gatherSizes) {
      const payload = cityPayload(n, 5);
      const json = JSON.stringify({ task_name: 'automated_gather_creation', payload });
      const t0 = performance.now();
      const res = await api.http.request('POST', '/api/v1/tasks', json, 600_000);
      if (res.status !== 201) throw new Error(`gather ${n} submit answered ${res.status}: ${res.body.slice(0, 300)}`);
      const id = (JSON.parse(res.body) as { task_id: string }).task_id;
      let h = await taskRecord(redis.client, PREFIX, id);
      while (h?.status !== 'completed' && h?.status !== 'failed') {
        if (performance.now() - t0 > 600_000) throw new Error(`gather ${n} did not finish in 600 s`);
        await sleep(20);
        h = await taskRecord(redis.client, PREFIX, id);
      }
      const e2eMs = performance.now() - t0;
      if (h.status !== 'completed') throw new Error(`gather ${n} ${h.status}: ${JSON.stringify(h.error)}`);
      const result = h.result as { stats?: unknown; partial?: boolean } | null;
      results.push({ n, e2eMs, runMs: Number(h.duration) * 1000, submitMs: res.ms, bytes: json.length, stats: { ...(result?.stats as object), partial: result?.partial } });
      ctx.log(`gather n=${n}: ${(e2eMs / 1000).toFixed(2)} s end to end, ${(Number(h.duration)).toFixed(2)} s in the worker`);
    }
    ctx.details.gather = results;
    const small = results[0];
    for (const r of results) {
      const first = r === small;
      ctx.rows.push(
        ratioRow({
          id: `gather_${r.n}`,
          workload: `automated_gather_creation, ${r.n.toLocaleString('en-US')} participants, end to end`,
          sluice: r.e2eMs / 1000,
          baseline: small.e2eMs / 1000,
          unit: 's',
          digits: 2,
          against: first ? '1k participants' : `1k participants (×${r.n / small.n} input)`,
          note:
            `${(r.bytes / 1e6).toFixed(1)} MB body, POST ${r.submitMs.toFixed(0)} ms, run ${(r.runMs / 1000).toFixed(2)} s` +
            (first ? '' : ` (${((r.runMs * 1000) / r.n).toFixed(0)} µs per participant vs ${((small.runMs * 1000) / small.n).toFixed(0)} at 1k)`) +
            `; ${JSON.stringify(r.stats)}`,
        }),
      );
    }
  } finally {
    await worker?.stop();
    await api.stop();
    await redis.stop();
  }
}

interface Gaps {
  /** Recorded run time (processedOn → finishedOn) minus the 50 ms of the loop: hand-over, IPC, result, per task. */
  insideRun: number;
  /** From one task's finishedOn to the next one's processedOn on the same child: moveToFinished, which fetches the next job. */
  betweenTasks: number;
  /** Per child slot, wall time per task beyond the 50 ms loop. */
  perTask: number;
}

/**
 * Where a child's time goes besides the task itself, from the records (ms timestamps, averaged):
 * tasks are grouped by the pid their result reports, which is one child (one slot at a time).
 */
async function gaps(redis: Redis, ids: string[]): Promise<Gaps> {
  const byPid = new Map<number, { start: number; finish: number; duration: number }[]>();
  for (const rec of await taskRecords(redis, PREFIX, ids)) {
    const pid = (rec?.result as { pid?: number } | null)?.pid;
    if (!rec || !pid || !rec.startedAt || !rec.finishedAt || rec.duration === null) continue;
    const list = byPid.get(pid) ?? [];
    list.push({ start: rec.startedAt, finish: rec.finishedAt, duration: rec.duration * 1000 });
    byPid.set(pid, list);
  }
  let inside = 0;
  let between = 0;
  let cycles = 0;
  let n = 0;
  for (const list of byPid.values()) {
    list.sort((a, b) => a.start - b.start);
    list.forEach((t, i) => {
      inside += t.duration - CPU_SECONDS * 1000;
      n++;
      const next = list[i + 1];
      if (next) {
        between += next.start - t.finish;
        cycles += next.start - t.start - CPU_SECONDS * 1000;
      }
    });
  }
  const pairs = Math.max(1, n - byPid.size);
  const r = (v: number): number => Math.round(v * 100) / 100;
  return { insideRun: r(inside / Math.max(1, n)), betweenTasks: r(between / pairs), perTask: r(cycles / pairs) };
}
