/**
 * A quick loop for the big-payload row, outside the suite: one API on a redis-server of its own, no
 * worker; POST /api/v1/tasks with the 100k-participant gather body, one at a time, in turns with
 * JSON.parse of the same string, as the suite's row does. Prints each round with the CPU that the
 * API and Redis spent on it; `--profile` writes the API's CPU profile (profile-summary.ts reads it).
 *
 *   npm run build && node --require @swc-node/register bench/tools/gather-post.ts [N=100000] [--rounds=5] [--profile] [--dist=DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMeter } from '../lib/cpu';
import { cityPayload } from '../gather-data';
import { installCleanup, runMain, stopAll } from '../lib/procs';
import { startRedis } from '../lib/redis';
import { startApi } from '../lib/sluice';

const PREFIX = 'sluice';

async function main(): Promise<void> {
  installCleanup();
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
  const rounds = Number(opt('rounds', '5'));
  const profileDir = args.includes('--profile') ? join(__dirname, '..', 'results', 'profiles', `gather-post-${Date.now()}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const run = { distDir: opt('dist', join(__dirname, '..', '..', 'dist')), profileDir };
  const redis = await startRedis('gather-post');
  const api = await startApi(run, redis.url, PREFIX);
  const body = JSON.stringify({ task_name: 'automated_gather_creation', payload: cityPayload(n, 5) });
  const post = async (): Promise<number> => {
    const r = await api.http.request('POST', '/api/v1/tasks', body, 120_000);
    if (r.status !== 201) throw new Error(`POST answered ${r.status}: ${r.body.slice(0, 300)}`);
    return r.ms;
  };
  const parse = (): number => {
    const t0 = performance.now();
    JSON.parse(body);
    return performance.now() - t0;
  };
  try {
    parse();
    await post();
    for (let i = 0; i < rounds; i++) {
      const parseMs = parse();
      const meter = cpuMeter([api.proc, redis.proc]);
      const postMs = await post();
      const cpu = meter.stop(1, postMs / 1000);
      process.stdout.write(`round ${i + 1}: POST ${postMs.toFixed(0)} ms, JSON.parse ${parseMs.toFixed(0)} ms (${(postMs / parseMs).toFixed(2)}×); cpu ${JSON.stringify(cpu)}\n`);
    }
  } finally {
    await api.stop();
    await redis.stop();
    await stopAll(2000);
  }
  process.stdout.write(`${(body.length / 1e6).toFixed(1)} MB body\n`);
  if (profileDir) process.stdout.write(`profile: ${profileDir}\n`);
}

runMain(main);
