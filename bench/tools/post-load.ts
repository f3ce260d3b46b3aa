/**
 * A quick loop for API-side tuning, outside the suite: one API on a redis-server of its own, no
 * worker, POST /api/v1/tasks with a no-op task, 64 in flight (the suite's single-POST row without
 * its bare baseline), or `--batch` (1000 tasks per request, 2 in flight). Prints the rate of each
 * round after a warm-up; `--profile` writes the API's CPU profile (bench/tools/profile-summary.ts
 * reads it). `--dist=DIR` runs another build, for measuring two builds in turns.
 *
 *   npm run build && node --require @swc-node/register bench/tools/post-load.ts [--batch] [--profile] [--rounds=3] [--seconds=5] [--dist=DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { closedLoop } from '../lib/http';
import { installCleanup, runMain, stopAll } from '../lib/procs';
import { startRedis } from '../lib/redis';
import { NOOP_BODY, batchBody, startApi } from '../lib/sluice';

const PREFIX = 'sluice';

async function main(): Promise<void> {
  installCleanup();
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const batch = args.includes('--batch');
  const rounds = Number(opt('rounds', '3'));
  const seconds = Number(opt('seconds', '5'));
  const profileDir = args.includes('--profile') ? join(__dirname, '..', 'results', 'profiles', `post-load-${Date.now()}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const run = { distDir: opt('dist', join(__dirname, '..', '..', 'dist')), profileDir };
  const redis = await startRedis('post-load');
  const api = await startApi(run, redis.url, PREFIX);
  const [path, body, perRequest, inFlight] = batch ? ['/api/v1/tasks/batch', batchBody(1000), 1000, 2] : ['/api/v1/tasks', NOOP_BODY, 1, 64];
  const op = async (): Promise<number> => {
    const r = await api.http.request('POST', path, body);
    // The batch answers 200 when some item was not created, 201 otherwise; both are a served batch.
    if (r.status !== 201 && r.status !== 200) throw new Error(`POST ${path} answered ${r.status}: ${r.body.slice(0, 200)}`);
    return perRequest;
  };
  try {
    await closedLoop({ inFlight, durationMs: 4000, op });
    for (let i = 0; i < rounds; i++) {
      const r = await closedLoop({ inFlight, durationMs: seconds * 1000, op });
      process.stdout.write(`round ${i + 1}: ${Math.round(r.unitsPerSecond)} tasks/s, ${Math.round(r.perSecond)} requests/s, errors ${r.errors}\n`);
    }
  } finally {
    await api.stop();
    await redis.stop();
    await stopAll(2000);
  }
  if (profileDir) process.stdout.write(`profile: ${profileDir}\n`);
}

runMain(main);
