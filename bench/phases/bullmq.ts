import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { JobsOptions, Queue, Worker } from 'bullmq';
import { buildJobOptions } from '../../src/tasks/job-options';
import { TaskType } from '../../src/tasks/task-registry';
import { cpuMeter } from '../lib/cpu';
import { launch } from '../lib/procs';
import { CallsPerTask, callsPerTask, commandStats, countRoundTrips, MemoryBreakdown, memoryBreakdown, startRedis, usedMemory, waitUntil } from '../lib/redis';
import { Ctx, ratioRow } from '../lib/report';
import { alternate, SluiceStack, startSluiceStack } from '../lib/side-by-side';

const PREFIX = 'peer';
export const DATA = { task_name: 'diagnostic.sleep', payload: { seconds: 0 } };
const RESULT = { slept_seconds: 0, soft_limit_hit: false, pid: 0 };
/**
 * The options Sluice gives a no-op task at the default TASK_MAX_RETRIES=3, from Sluice's own
 * builder: 4 attempts, its custom backoff (never reached: a no-op does not fail), and no removal by
 * BullMQ (Sluice's reaper removes a finished task after TASK_RESULT_EXPIRES).
 */
export const OPTS = buildJobOptions({ name: DATA.task_name, policy: { maxRetries: 3 } } as TaskType);

/** One addBulk of `k` no-op jobs with Sluice's job options. */
export function noopJobs(k: number): { name: string; data: typeof DATA; opts: JobsOptions & { jobId: string } }[] {
  return Array.from({ length: k }, () => ({ name: DATA.task_name, data: DATA, opts: { ...OPTS, jobId: randomUUID() } }));
}

async function addAll(queue: Queue, n: number, chunk = 1000): Promise<void> {
  for (let done = 0; done < n; done += chunk) {
    const k = Math.min(chunk, n - done);
    await queue.addBulk(noopJobs(k));
  }
}

/**
 * The BullMQ peer: its own sandboxed processor (forked children) at concurrency 2 in a process of
 * its own, fed by addBulk from here, timed from the first addBulk until the completed set holds
 * all N. Also Redis commands per job, and Redis memory per retained completed job.
 */
export async function bullmqPhase(ctx: Ctx): Promise<void> {
  const { p } = ctx;
  const redis = await startRedis('bullmq');
  const peer = launch('bullmq-sandbox', process.execPath, ['--require', '@swc-node/register', join(__dirname, '..', 'peers', 'bullmq-sandbox.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PEER_REDIS_URL: redis.url, PEER_PREFIX: PREFIX, PEER_QUEUE: 'peer', PEER_CONCURRENCY: '2' },
    cwd: join(__dirname, '..', '..'),
  });
  const queue = new Queue('peer', { prefix: PREFIX, connection: { url: redis.url, connectionName: 'peer:producer' } as never });
  const memQueue = new Queue('mem', { prefix: PREFIX, connection: { url: redis.url, connectionName: 'bench:producer-mem' } as never });
  let memWorker: Worker | null = null;
  // The Sluice side of the row boots while the peer does (both idle once up).
  const stacking = startSluiceStack(ctx, 'bullmq-sluice');
  let stack: SluiceStack | null = null;
  try {
    [, stack] = await Promise.all([peer.waitForOutput(/PEER_READY/, 60_000), stacking]);
    const completed = (): Promise<number> => redis.client.zcard(`${PREFIX}:peer:completed`);
    // Warm-up: BullMQ forks its sandbox children on first use.
    await addAll(queue, Math.min(200, p.warmN));
    await waitUntil(completed, Math.min(200, p.warmN), 60_000, 5, 'peer warm-up');

    const base = await completed();
    const cs0 = await commandStats(redis.client);
    const meter = cpuMeter([peer, redis.proc]);
    const t0 = performance.now();
    await addAll(queue, p.bullN);
    const t1 = await waitUntil(completed, base + p.bullN, 300_000, 5, 'peer completions');
    ctx.details.bullmqCpu = meter.stop(p.bullN, (t1 - t0) / 1000);
    const cs1 = await commandStats(redis.client);
    const rate = p.bullN / ((t1 - t0) / 1000);
    // The completion polls of this harness (ZCARD) are not the peer's cost.
    const polls = (cs1.zcard?.calls ?? 0) - (cs0.zcard?.calls ?? 0);
    const bullCalls = callsPerTask(cs0, cs1, p.bullN, { zcard: polls });
    ctx.details.bullmqCallsPerTask = bullCalls;
    const sluiceCalls = ctx.details.sluiceCallsPerTask as CallsPerTask | undefined;
    if (sluiceCalls) {
      const batchCalls = ctx.details.sluiceCallsPerTaskBatch as CallsPerTask | undefined;
      const top = (c: CallsPerTask): string =>
        Object.entries(c.byCommand)
          .slice(0, 8)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
      ctx.rows.push({
        id: 'redis_commands_per_task',
        workload: 'Redis commands per no-op task, end to end (INFO commandstats delta / N; commands inside scripts counted under their own names)',
        sluice: `${sluiceCalls.total} (HTTP submit)`,
        against: "BullMQ's sandboxed processor, addBulk submit, the same job options",
        baseline: String(bullCalls.total),
        ratio: `${(sluiceCalls.total / bullCalls.total).toFixed(2)}×`,
        target: '≤ 45 per task',
        verdict: sluiceCalls.total <= 45 ? 'met' : 'MISSED',
        note:
          `Sluice, single POSTs, ${p.e2eN} tasks: ${sluiceCalls.scripts} scripts per task, ${sluiceCalls.usec} µs of Redis CPU; top: ${top(sluiceCalls)}` +
          (batchCalls ? `; through POST /tasks/batch: ${batchCalls.total} per task (${batchCalls.scripts} scripts, ${batchCalls.usec} µs)` : '') +
          `; BullMQ: ${bullCalls.scripts} scripts, ${bullCalls.usec} µs; top: ${top(bullCalls)}; the harness's own counter polls are left out on both sides`,
        data: { sluice: sluiceCalls, sluiceBatch: batchCalls ?? null, bullmq: bullCalls },
        phases: ['e2e', 'bullmq'],
      });
    }
    ctx.shared.bullmqE2e = rate;
    ctx.log(`bullmq sandbox e2e: ${rate.toFixed(0)} jobs/s`);

    ctx.details.bullmqRoundTrips = await countRoundTrips(redis.url, p.roundTripN, async () => {
      const b = await completed();
      await addAll(queue, p.roundTripN);
      await waitUntil(completed, b + p.roundTripN, 60_000, 20, 'peer completions');
    });

    // The row: Sluice fed in bulk (POST /tasks/batch of 1000) against BullMQ fed in bulk (addBulk of
    // 1000), in alternating rounds, each on a Redis of its own. The e2e phase's figures are in the note.
    {
      const n = Math.ceil(p.bullN / 2);
      // Equally warm sides: the peer has run its warm-up, the measured N and the MONITOR count by
      // now; the Sluice stack only its own warm-up. V8's JIT keeps speeding a process up over its
      // first ~10k tasks (a cold first round ran 2,454 tasks/s, the next 3,767, in one run here),
      // so the stack runs as many, untimed, before the rounds.
      const catchUp = p.bullN + p.roundTripN + Math.min(200, p.warmN) - 2 * p.warmN;
      if (catchUp > 0) await stack!.round(catchUp, 'batch');
      const side = await alternate(
        2,
        async () => {
          const b = await completed();
          const t0 = performance.now();
          await addAll(queue, n);
          const t1 = await waitUntil(completed, b + n, 300_000, 5, 'peer completions');
          return { perSecond: n / ((t1 - t0) / 1000), seconds: (t1 - t0) / 1000, n };
        },
        async () => ({ ...(await stack!.round(n, 'batch')), n }),
      );
      ctx.rows.push(
        ratioRow({
          id: 'e2e_vs_bullmq',
          workload: 'no-op tasks end to end, batch submit (1000 per request), concurrency 2, no recycling',
          sluice: side.sluice,
          baseline: side.peer,
          unit: 'tasks/s',
          against: "BullMQ's sandboxed processor, concurrency 2, addBulk submit (1000 per call)",
          min: 0.9,
          note:
            `rounds of ${n} in turns, BullMQ first: BullMQ ${side.peerRounds.join(', ')} / Sluice ${side.sluiceRounds.join(', ')} tasks/s, each timed from the first submission until all completed` +
            (ctx.shared.sluiceE2e
              ? `; in the e2e phase Sluice ran ${Math.round(ctx.shared.sluiceE2eBatch ?? 0)} tasks/s fed in batches and ${Math.round(ctx.shared.sluiceE2e)} fed by single POSTs (64 in flight), ${(ctx.shared.sluiceE2e / rate).toFixed(2)}× this phase's first BullMQ run (${Math.round(rate)})`
              : ''),
          data: { side, e2ePhase: { batch: ctx.shared.sluiceE2eBatch ?? null, single: ctx.shared.sluiceE2e ?? null } },
        }),
      );
    }

    // Redis memory per retained completed job: same data, options and result as Sluice's jobs.
    memWorker = new Worker('mem', async () => ({ ...RESULT, pid: process.pid }), {
      prefix: PREFIX,
      connection: { url: redis.url, maxRetriesPerRequest: null, connectionName: 'bench:mem-worker' } as never,
      concurrency: 100,
    });
    const memDone = (): Promise<number> => redis.client.zcard(`${PREFIX}:mem:completed`);
    const first = Math.min(p.warmN, p.bullMemN);
    await addAll(memQueue, first);
    await waitUntil(memDone, first, 120_000, 20, 'memory warm-up');
    const mem0 = await usedMemory(redis.client);
    await addAll(memQueue, p.bullMemN - first);
    await waitUntil(memDone, p.bullMemN, 600_000, 20, 'memory fill');
    await new Promise((r) => setTimeout(r, 500));
    const mem1 = await usedMemory(redis.client);
    const perJob = (mem1 - mem0) / (p.bullMemN - first);
    const keys = await memoryBreakdown(redis.client, `${PREFIX}:mem:`, p.bullMemN);
    ctx.details.bullmqMemory = { mem0, mem1, jobs: p.bullMemN - first, perJob, keys };
    const sk = (ctx.details.sluiceMemory as { keys?: MemoryBreakdown } | undefined)?.keys;
    const explain = (k: MemoryBreakdown): string =>
      `job hash ${k.jobHashBytes} B (${k.jobHashFields} fields, ${k.jobHashEncoding}) + ${k.zsetEntriesPerTask} sorted-set entries × ${k.zsetBytesPerEntry} B = ${k.perTask} B`;
    if (ctx.shared.sluiceBytesPerTask) {
      ctx.rows.push(
        ratioRow({
          id: 'redis_bytes_per_task',
          workload: 'Redis memory per retained completed no-op task (used_memory delta / N)',
          sluice: ctx.shared.sluiceBytesPerTask,
          baseline: perJob,
          unit: 'B',
          digits: 0,
          against: 'raw BullMQ job, same data, options and result',
          max: 1.3,
          note:
            `used_memory delta from ~${Math.round(p.warmN / 1000)}k to ~${Math.round(p.retainBig / 1000)}k retained (Sluice) and ${Math.round(first / 1000)}k to ${Math.round(p.bullMemN / 1000)}k (BullMQ); ` +
            `per key (MEMORY USAGE SAMPLES 0): Sluice ${sk ? explain(sk) : '-'}; BullMQ ${explain(keys)}` +
            (sk ? `; Sluice's sorted sets per task: ${JSON.stringify(sk.zsets)}` : ''),
          data: { sluiceKeys: sk ?? null, bullmqKeys: keys },
        }),
      );
      ctx.rows[ctx.rows.length - 1].phases = ['e2e', 'bullmq'];
    }
  } finally {
    await (stack ?? (await stacking.catch(() => null)))?.stop();
    await memWorker?.close().catch(() => undefined);
    await Promise.all([queue.close().catch(() => undefined), memQueue.close().catch(() => undefined)]);
    await peer.stop(5000);
    await redis.stop();
  }
}
