import { closedLoop, HttpClient } from './http';
import { BenchRedis, startRedis } from './redis';
import { Ctx } from './report';
import { finishedCount, NOOP_BODY, SluiceApi, SluiceWorker, startApi, startWorker, submitBatches, waitFinished } from './sluice';

export const SLUICE_PREFIX = 'sluice';
export const NO_RECYCLE = { WORKER_CONCURRENCY: '2', WORKER_MAX_TASKS_PER_CHILD: '0' };
/** The seed's default: a child is replaced after 10 tasks. */
export const RECYCLE_10 = { WORKER_CONCURRENCY: '2', WORKER_MAX_TASKS_PER_CHILD: '10' };

/** Submits `n` no-op tasks as single POSTs, 64 in flight; returns the seconds it took. */
export async function postMany(http: HttpClient, n: number): Promise<number> {
  const t0 = performance.now();
  const r = await closedLoop({
    inFlight: 64,
    count: n,
    op: async () => {
      const res = await http.request('POST', '/api/v1/tasks', NOOP_BODY);
      if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${res.body.slice(0, 200)}`);
      return 1;
    },
  });
  if (r.errors) throw new Error(`${r.errors} submissions failed: ${r.firstError}`);
  return (performance.now() - t0) / 1000;
}

export type SubmitMode = 'single' | 'batch';

/** A Sluice API and worker (no recycling unless told, concurrency 2) on a Redis of their own, warmed up. */
export interface SluiceStack {
  redis: BenchRedis;
  api: SluiceApi;
  worker: SluiceWorker;
  /** No-op tasks end to end: from the first submission until all `n` have finished; tasks/s. */
  round(n: number, mode: SubmitMode): Promise<{ perSecond: number; seconds: number }>;
  stop(): Promise<void>;
}

export async function startSluiceStack(ctx: Ctx, label: string, opts: { worker?: Record<string, string>; warm?: number } = {}): Promise<SluiceStack> {
  const redis = await startRedis(label);
  // Both boot at once: each is a Nest app taking a few seconds to start.
  const [api, worker] = await Promise.all([
    startApi(ctx.run, redis.url, SLUICE_PREFIX, {}, `${label}-api`),
    startWorker(ctx.run, redis.url, SLUICE_PREFIX, opts.worker ?? NO_RECYCLE, `${label}-worker`),
  ]);
  const round = async (n: number, mode: SubmitMode): Promise<{ perSecond: number; seconds: number }> => {
    const before = (await finishedCount(redis.client, SLUICE_PREFIX)).finished;
    const t0 = performance.now();
    if (mode === 'batch') await submitBatches(api.http, n, 1000, 2);
    else await postMany(api.http, n);
    const done = await waitFinished(redis.client, SLUICE_PREFIX, before + n, 300_000);
    const seconds = (done.at - t0) / 1000;
    return { perSecond: n / seconds, seconds };
  };
  const warm = opts.warm ?? ctx.p.warmN;
  await round(warm, 'single');
  await round(warm, 'batch');
  return {
    redis,
    api,
    worker,
    round,
    stop: async () => {
      await worker.stop();
      await api.stop();
      await redis.stop();
    },
  };
}

/** Rounds taken together: all their units over all their seconds (not the mean of their rates). */
export function totalRate(rounds: { n: number; seconds: number }[]): number {
  return rounds.reduce((a, r) => a + r.n, 0) / rounds.reduce((a, r) => a + r.seconds, 0);
}

/**
 * Sluice and a peer in turns (peer, Sluice, peer, Sluice, ...), so that the machine's drift over
 * minutes hits both alike; rates are total tasks over total seconds of each side's rounds.
 */
export async function alternate(
  rounds: number,
  peer: () => Promise<{ perSecond: number; seconds: number; n: number }>,
  sluice: () => Promise<{ perSecond: number; seconds: number; n: number }>,
): Promise<{ peer: number; sluice: number; peerRounds: number[]; sluiceRounds: number[] }> {
  const p: { perSecond: number; seconds: number; n: number }[] = [];
  const s: { perSecond: number; seconds: number; n: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    p.push(await peer());
    s.push(await sluice());
  }
  return { peer: totalRate(p), sluice: totalRate(s), peerRounds: p.map((r) => Math.round(r.perSecond)), sluiceRounds: s.map((r) => Math.round(r.perSecond)) };
}
