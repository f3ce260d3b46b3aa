import { join } from 'node:path';
import { Queue } from 'bullmq';
import { freePort } from '../../src/app/embedded-redis';
import { closedLoop, HttpClient, LoadResult } from '../lib/http';
import { cpuMeter } from '../lib/cpu';
import { startFlood } from '../lib/flood';
import { launch } from '../lib/procs';
import { startRedis } from '../lib/redis';
import { noopJobs } from './bullmq';
import { totalRate } from '../lib/side-by-side';
import { bullQueueName } from '../../src/tasks/lifecycle/task-keys';
import { BENCH_QUEUE, batchAvailable, batchBody, NOOP_BODY, queueKeys, startApi, submit, submitBatches } from '../lib/sluice';
import { fmtSummary, summarize } from '../lib/stats';
import { count, Ctx, errorRow, ratioRow } from '../lib/report';
import { cityPayload } from '../gather-data';

const PREFIX = 'sluice';
/** Requests per minute per key for the rate-limited API: on, but never reached here. */
const RATE_LIMIT_ON = 100_000_000;
/** BullMQ's wait list of the bench's queue: `<prefix>:{cpu_intensive}:wait`. */
const WAIT_LIST = `${queueKeys(PREFIX).base}wait`;

/**
 * The API alone, no worker, so every submitted task stays waiting:
 * - POST /api/v1/tasks against a bare Nest+BullMQ route (same Redis, same load), alternating;
 * - POST /api/v1/tasks/batch in tasks/s against the single POSTs;
 * - GET /api/v1/tasks/{id} with 100k waiting against a second Redis and API with none, in turns;
 * - the 100k-participant gather POST against JSON.parse of the same body;
 * - GET latency while 4 clients send 12 MB bodies with a wrong key, against GET alone.
 */
export async function apiPhase(ctx: Ctx): Promise<void> {
  const { p } = ctx;
  const redis = await startRedis('api');
  const barePort = await freePort();
  // Both servers boot at once.
  const bare = launch('bare-app', process.execPath, ['--require', '@swc-node/register', join(__dirname, '..', 'peers', 'bare-app.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', BARE_PORT: String(barePort), BARE_REDIS_URL: redis.url, BARE_PREFIX: 'bare' },
    cwd: join(__dirname, '..', '..'),
  });
  // The baseline of the GET row: a second Redis and API, with nothing waiting.
  const smallRedis = await startRedis('api-small');
  // And the rate-limit row's API: the same Redis, a limit too high to refuse anything, so the row
  // measures what checking it costs.
  const [api, small, limited] = await Promise.all([
    startApi(ctx.run, redis.url, PREFIX),
    startApi(ctx.run, smallRedis.url, PREFIX, {}, 'api-small'),
    startApi(ctx.run, redis.url, PREFIX, { RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_ON) }, 'api-ratelimit'),
  ]);
  await bare.waitForOutput(/BARE_READY/, 60_000);
  const bareHttp = new HttpClient(barePort, {}, 64);
  const http = api.http;
  try {
    // GET with none waiting: records of tasks that were submitted, then cancelled out of the queue.
    const few = [];
    for (let i = 0; i < 100; i++) few.push((await submit(http)).id);
    for (const id of few) await http.json('DELETE', `/api/v1/tasks/${id}`, undefined, [200]);
    const waitingBefore = await redis.client.llen(WAIT_LIST);
    const getOp = (ids: string[], client: HttpClient = http) => async (i: number): Promise<number> => {
      const r = await client.request('GET', `/api/v1/tasks/${ids[i % ids.length]}`);
      if (r.status !== 200) throw new Error(`GET answered ${r.status}`);
      return 1;
    };
    // A freshly started process runs its first seconds unoptimised: warm every path before timing any.
    await closedLoop({ inFlight: 64, durationMs: p.warmupSeconds * 2000, op: getOp(few) });
    const getNone = await closedLoop({ inFlight: 64, warmupMs: p.warmupSeconds * 1000, durationMs: p.getSeconds * 1000, op: getOp(few) });

    // Single POSTs, Sluice and the bare route in turns, so drift on the machine hits both alike.
    const postOp = (client: HttpClient) => async (): Promise<number> => {
      const r = await client.request('POST', '/api/v1/tasks', NOOP_BODY);
      if (r.status !== 201) throw new Error(`POST answered ${r.status}: ${r.body.slice(0, 200)}`);
      return 1;
    };
    await closedLoop({ inFlight: 64, durationMs: p.warmupSeconds * 2000, op: postOp(http) });
    await closedLoop({ inFlight: 64, durationMs: p.warmupSeconds * 2000, op: postOp(bareHttp) });
    const sluiceRuns: LoadResult[] = [];
    const bareRuns: LoadResult[] = [];
    // CPU per request of each server and of Redis, summed over the rounds.
    const cpuSluice: Record<string, number> = {};
    const cpuBare: Record<string, number> = {};
    const add = (into: Record<string, number>, from: Record<string, number>): void => {
      for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v / p.postRounds;
    };
    for (let round = 0; round < p.postRounds; round++) {
      let meter = cpuMeter([api.proc, redis.proc]);
      let r = await closedLoop({ inFlight: 64, durationMs: p.postSeconds * 1000, op: postOp(http) });
      add(cpuSluice, meter.stop(r.ops, r.seconds));
      sluiceRuns.push(r);
      meter = cpuMeter([bare, redis.proc]);
      r = await closedLoop({ inFlight: 64, durationMs: p.postSeconds * 1000, op: postOp(bareHttp) });
      add(cpuBare, meter.stop(r.ops, r.seconds));
      bareRuns.push(r);
    }
    // ms of CPU per 1000 requests (both servers were warmed above, so rounds are timed from their start).
    ctx.details.postCpu = { sluice: cpuSluice, bare: cpuBare };
    const rate = (runs: LoadResult[]): number => totalRate(runs.map((r) => ({ n: r.ops, seconds: r.seconds })));
    const sluicePost = rate(sluiceRuns);
    const barePost = rate(bareRuns);
    ctx.shared.singlePostPerSec = sluicePost;
    const sl = summarize(sluiceRuns.flatMap((r) => r.latencies));
    const bl = summarize(bareRuns.flatMap((r) => r.latencies));
    ctx.rows.push(
      ratioRow({
        id: 'post_single',
        workload: 'POST /api/v1/tasks, 64 in flight',
        sluice: sluicePost,
        baseline: barePost,
        unit: 'req/s',
        against: 'bare Nest+Fastify route calling queue.add',
        min: 0.7,
        note: `POST latency p50/p99/max: Sluice ${fmtSummary(sl)}, bare ${fmtSummary(bl)}; rounds Sluice ${sluiceRuns.map((r) => Math.round(r.perSecond)).join(', ')} / bare ${bareRuns.map((r) => Math.round(r.perSecond)).join(', ')} req/s`,
        data: { sluiceLatency: sl, bareLatency: bl, errors: sluiceRuns.reduce((s, r) => s + r.errors, 0) },
      }),
    );

    // The same single POSTs with rate limiting on (every other row runs with it off), in turns with
    // the API above, on the same Redis.
    {
      await closedLoop({ inFlight: 64, durationMs: p.warmupSeconds * 2000, op: postOp(limited.http) });
      const on: LoadResult[] = [];
      const off: LoadResult[] = [];
      for (let round = 0; round < p.postRounds; round++) {
        on.push(await closedLoop({ inFlight: 64, durationMs: p.postSeconds * 1000, op: postOp(limited.http) }));
        off.push(await closedLoop({ inFlight: 64, durationMs: p.postSeconds * 1000, op: postOp(http) }));
      }
      const lo = summarize(on.flatMap((r) => r.latencies));
      ctx.rows.push(
        ratioRow({
          id: 'post_rate_limited',
          workload: `POST /api/v1/tasks, 64 in flight, rate limiting on (RATE_LIMIT_PER_MINUTE=${RATE_LIMIT_ON}, never reached)`,
          sluice: rate(on),
          baseline: rate(off),
          unit: 'req/s',
          against: 'the same with rate limiting off (RATE_LIMIT_PER_MINUTE=0), in turns, same Redis',
          note: `latency p50/p99/max with the limit ${fmtSummary(lo)}; rounds on ${on.map((r) => Math.round(r.perSecond)).join(', ')} / off ${off.map((r) => Math.round(r.perSecond)).join(', ')} req/s; errors ${on.reduce((a, r) => a + r.errors, 0)}`,
        }),
      );
    }

    // The batch endpoint, in tasks/s.
    if (await batchAvailable(http)) {
      const body = batchBody(1000);
      const batch = await closedLoop({
        inFlight: p.batchInFlight,
        warmupMs: p.warmupSeconds * 1000,
        durationMs: p.batchSeconds * 1000,
        op: async () => {
          const r = await http.request('POST', '/api/v1/tasks/batch', body);
          if (r.status !== 200 && r.status !== 201) throw new Error(`batch answered ${r.status}: ${r.body.slice(0, 200)}`);
          return 1000;
        },
      });
      const bs = summarize(batch.latencies);
      // BullMQ's own ceiling for this workload: raw addBulk of 1000 from the harness, same Redis,
      // same in-flight count. The endpoint does one addBulk per request, so it cannot beat this.
      const raw = new Queue(bullQueueName(BENCH_QUEUE), { prefix: 'raw', connection: { url: redis.url, connectionName: 'bench:raw-addbulk' } as never });
      let addBulk: LoadResult;
      try {
        addBulk = await closedLoop({
          inFlight: p.batchInFlight,
          warmupMs: p.warmupSeconds * 1000,
          durationMs: p.batchSeconds * 1000,
          op: async () => (await raw.addBulk(noopJobs(1000))).length,
        });
      } finally {
        await raw.close();
      }
      const ceiling = addBulk.unitsPerSecond;
      ctx.rows.push(
        ratioRow({
          id: 'post_batch',
          workload: `POST /api/v1/tasks/batch, 1000 tasks per request, ${p.batchInFlight} in flight`,
          sluice: batch.unitsPerSecond,
          baseline: sluicePost,
          unit: 'tasks/s',
          against: 'single POSTs (row above)',
          min: 5,
          note:
            `batch request latency p50/p99/max ${fmtSummary(bs)}; BullMQ's own addBulk of 1000 from the harness (no HTTP, no validation, no records), ` +
            `${p.batchInFlight} in flight, same Redis: ${Math.round(ceiling)} jobs/s, so the endpoint runs at ${(batch.unitsPerSecond / ceiling).toFixed(2)}× of BullMQ's own ceiling, ` +
            `and 5× single POSTs (${Math.round(5 * sluicePost)} tasks/s) would be ${((5 * sluicePost) / ceiling).toFixed(2)}× of it`,
          data: { latency: bs, requestsPerSecond: batch.perSecond, rawAddBulkPerSecond: ceiling },
        }),
      );
    } else {
      ctx.rows.push(errorRow('post_batch', 'POST /api/v1/tasks/batch, 1000 tasks per request', 'POST /api/v1/tasks/batch answered 404 in this build', 'endpoint missing'));
    }

    // GET with ~100k waiting: top the queue up, then read tasks from all over the wait list.
    let waiting = await redis.client.llen(WAIT_LIST);
    if (waiting < p.waitingBig) {
      if (await batchAvailable(http)) await submitBatches(http, p.waitingBig - waiting, 1000, 2);
      else await closedLoop({ inFlight: 64, count: p.waitingBig - waiting, op: postOp(http) });
    }
    waiting = await redis.client.llen(WAIT_LIST);
    const pipe = redis.client.pipeline();
    for (let i = 0; i < 1000; i++) pipe.lindex(WAIT_LIST, Math.floor((i / 1000) * waiting));
    const deep = ((await pipe.exec()) ?? []).map(([, v]) => String(v)).filter((v) => v && v !== 'null');
    const getBigSeq = await closedLoop({ inFlight: 64, warmupMs: p.warmupSeconds * 1000, durationMs: p.getSeconds * 1000, op: getOp(deep) });
    // The row: this API on the ~100k wait list against a second Redis and API with nothing waiting
    // (100 cancelled records, as above), in turns, so the machine's drift over the fill between the
    // two sequential measurements above does not decide it.
    const bigRuns: LoadResult[] = [];
    const smallRuns: LoadResult[] = [];
    {
      const fewSmall: string[] = [];
      for (let i = 0; i < 100; i++) fewSmall.push((await submit(small.http)).id);
      for (const id of fewSmall) await small.http.json('DELETE', `/api/v1/tasks/${id}`, undefined, [200]);
      await closedLoop({ inFlight: 64, durationMs: p.warmupSeconds * 2000, op: getOp(fewSmall, small.http) });
      for (let round = 0; round < p.postRounds; round++) {
        bigRuns.push(await closedLoop({ inFlight: 64, durationMs: p.getSeconds * 1000, op: getOp(deep) }));
        smallRuns.push(await closedLoop({ inFlight: 64, durationMs: p.getSeconds * 1000, op: getOp(fewSmall, small.http) }));
      }
    }
    const gb = summarize(bigRuns.flatMap((r) => r.latencies));
    const gn = summarize(smallRuns.flatMap((r) => r.latencies));
    ctx.rows.push(
      ratioRow({
        id: 'get_waiting',
        workload: `GET /api/v1/tasks/{id}, ${count(waiting)} waiting, 64 in flight`,
        sluice: rate(bigRuns),
        baseline: rate(smallRuns),
        unit: 'req/s',
        against: `the same with ${waitingBefore} waiting (another Redis and API, in turns)`,
        min: 0.8,
        note:
          `GET latency p50/p99/max: ${count(waiting)} waiting ${fmtSummary(gb)}, none waiting ${fmtSummary(gn)}; rounds ${bigRuns.map((r) => Math.round(r.perSecond)).join(', ')} / ${smallRuns.map((r) => Math.round(r.perSecond)).join(', ')} req/s; ` +
          `one API measured before and after the fill: ${Math.round(getNone.perSecond)} then ${Math.round(getBigSeq.perSecond)} req/s (${(getBigSeq.perSecond / getNone.perSecond).toFixed(2)}×)`,
        data: { waiting, latencyBig: gb, latencyNone: gn, sequential: { none: getNone.perSecond, big: getBigSeq.perSecond } },
      }),
    );

    ctx.rows.push(await bigPostRow(ctx, http));
    ctx.rows.push(await wrongKeyFloodRow(ctx, api.port, getOp(few)));
  } finally {
    bareHttp.close();
    await Promise.all([api.stop(), small.stop(), limited.stop(), bare.stop(5000)]);
    await Promise.all([redis.stop(), smallRedis.stop()]);
  }
}

const GATHER_BIG = 100_000;

/**
 * POST /api/v1/tasks with the 100k-participant gather body (~14.7 MB), from the request until the
 * 201, against JSON.parse of the same string in this process, in turns. The POST also pays the
 * socket, the depth check, validation, JSON.stringify for the job and the Redis write.
 */
async function bigPostRow(ctx: Ctx, http: HttpClient): Promise<ReturnType<typeof ratioRow>> {
  const n = ctx.smoke ? 10_000 : GATHER_BIG;
  const body = JSON.stringify({ task_name: 'automated_gather_creation', payload: cityPayload(n, 5) });
  const rounds = ctx.smoke ? 2 : 5;
  const post = async (): Promise<number> => {
    const r = await http.request('POST', '/api/v1/tasks', body, 120_000);
    if (r.status !== 201) throw new Error(`gather ${n} POST answered ${r.status}: ${r.body.slice(0, 300)}`);
    return r.ms;
  };
  const parse = async (): Promise<number> => {
    const t0 = performance.now();
    JSON.parse(body);
    return performance.now() - t0;
  };
  // Warm both: the first parse of a big string and the API's first big request are slower.
  await parse();
  await post();
  const posts: number[] = [];
  const parses: number[] = [];
  for (let i = 0; i < rounds; i++) {
    parses.push(await parse());
    posts.push(await post());
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return ratioRow({
    id: 'post_gather_100k',
    workload: `POST /api/v1/tasks, automated_gather_creation with ${count(n)} participants (${(body.length / 1e6).toFixed(1)} MB), one at a time, median of ${rounds}`,
    sluice: med(posts),
    baseline: med(parses),
    unit: 'ms',
    against: 'JSON.parse of the same body in the harness, in turns',
    max: 4,
    note: `POST ${posts.map((v) => v.toFixed(0)).join(', ')} ms; JSON.parse ${parses.map((v) => v.toFixed(0)).join(', ')} ms`,
    data: { posts, parses, bytes: body.length },
  });
}

/**
 * The front door's first requirement: authenticated GET p50 while 4 clients send 12 MB bodies with
 * a wrong key (refused in the onRequest hook, before the body is read), against GET alone, in turns.
 */
async function wrongKeyFloodRow(ctx: Ctx, port: number, getOp: (i: number) => Promise<number>): Promise<ReturnType<typeof ratioRow>> {
  const seconds = ctx.p.getSeconds * 1000;
  const idle: LoadResult[] = [];
  const flooded: LoadResult[] = [];
  let refused = 0;
  let floodErrors = 0;
  for (let round = 0; round < ctx.p.postRounds; round++) {
    idle.push(await closedLoop({ inFlight: 1, durationMs: seconds, op: getOp }));
    // The senders run in a process of their own (bench/lib/flood.ts): on the harness's event loop
    // their 12 MB writes would delay the timed GETs themselves.
    const flood = await startFlood(port, '/api/v1/tasks', { 'x-api-key': 'wrong-key-0123456789abcdef' }, 12 * 1024 * 1024, 4);
    try {
      flooded.push(await closedLoop({ inFlight: 1, durationMs: seconds, op: getOp }));
    } finally {
      const counts = await flood.stop();
      refused += counts.refused;
      floodErrors += counts.other;
    }
  }
  const si = summarize(idle.flatMap((r) => r.latencies));
  const sf = summarize(flooded.flatMap((r) => r.latencies));
  return ratioRow({
    id: 'get_during_wrong_key_flood',
    workload: 'GET /api/v1/tasks/{id} latency p50, one at a time, while 4 clients send 12 MB bodies with a wrong key',
    sluice: sf.p50,
    baseline: si.p50,
    unit: 'ms',
    digits: 2,
    against: 'the same GETs with no other traffic, in turns',
    max: 2,
    note: `GET p50/p99/max during the flood ${fmtSummary(sf)}, idle ${fmtSummary(si)}; ${refused} bodies refused with 401 meanwhile, ${floodErrors} other outcomes`,
  });
}
