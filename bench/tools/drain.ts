/**
 * A quick loop for worker-side tuning, outside the suite: fill N no-op tasks through
 * POST /tasks/batch with no worker running, then start the worker and time the drain, with CPU
 * per process. `--live` submits while the worker runs instead (the suite's row 3 with batch submit).
 * `--commands` also prints each round's Redis commands per task, by name (INFO commandstats).
 *
 *   npm run build && node --require @swc-node/register bench/tools/drain.ts [N] [--live] [--commands] [--profile] [--rounds=3] [--dist=DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMeter } from '../lib/cpu';
import { installCleanup, runMain, stopAll } from '../lib/procs';
import { commandStats, callsPerTask, startRedis } from '../lib/redis';
import { finishedCount, startApi, startWorker, submitBatches, waitFinished } from '../lib/sluice';

const PREFIX = 'sluice';

async function main(): Promise<void> {
  installCleanup();
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 10000);
  const live = args.includes('--live');
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 3);
  const profileDir = args.includes('--profile') ? join(__dirname, '..', 'results', 'profiles', `drain-${Date.now()}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const dist = args.find((a) => a.startsWith('--dist='))?.slice('--dist='.length);
  const run = { distDir: dist ?? join(__dirname, '..', '..', 'dist'), profileDir };
  const redis = await startRedis('drain');
  const api = await startApi(run, redis.url, PREFIX);
  const env = { WORKER_CONCURRENCY: '2', WORKER_MAX_TASKS_PER_CHILD: '0' };
  try {
    // Warm-up round, not reported.
    let worker = await startWorker(run, redis.url, PREFIX, env);
    await submitBatches(api.http, 2000, 1000, 2);
    await waitFinished(redis.client, PREFIX, 2000, 60_000);
    for (let r = 0; r < rounds; r++) {
      const before = (await finishedCount(redis.client, PREFIX)).finished;
      if (!live) {
        await worker.stop();
        await submitBatches(api.http, n, 1000, 2);
      }
      const cs0 = await commandStats(redis.client);
      const t0 = performance.now();
      if (!live) worker = await startWorker(run, redis.url, PREFIX, env);
      const t1 = performance.now();
      const meter = cpuMeter([api.proc, worker.proc, redis.proc]);
      if (live) await submitBatches(api.http, n, 1000, 2);
      const done = await waitFinished(redis.client, PREFIX, before + n, 300_000);
      const cpu = meter.stop(n, (done.at - t1) / 1000);
      const cs1 = await commandStats(redis.client);
      const calls = callsPerTask(cs0, cs1, n);
      process.stdout.write(
        `round ${r + 1}: ${Math.round(n / ((done.at - t1) / 1000))} tasks/s (worker start ${Math.round(t1 - t0)} ms); ` +
          `commands/task ${calls.total}; cpu ${JSON.stringify(cpu)}\n` + (args.includes('--commands') ? `  by command ${JSON.stringify(calls.byCommand)}\n` : ''),
      );
    }
    await worker.stop();
  } finally {
    await api.stop();
    await redis.stop();
    await stopAll(2000);
  }
  if (profileDir) process.stdout.write(`profiles: ${profileDir}\n`);
}

runMain(main);
