/**
 * Builds compared in turns, outside the suite: one API and one redis-server per build, no worker,
 * POST /api/v1/tasks with a no-op task, 64 in flight (or `--batch`: 1000 tasks per request, 2 in
 * flight). After a warm-up of each, rounds of 5 s alternate between the builds; each round prints
 * the rate and the CPU per task of that build's API and Redis (from /proc), then the totals.
 * A build is a directory of `nest build` output, optionally followed by `|` and NODE_OPTIONS for its
 * API. ROUNDS sets the rounds per build (default 4).
 *
 *   node --require @swc-node/register bench/tools/ab.ts bench/.dist/a bench/.dist/b [--batch]
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { closedLoop } from '../lib/http';
import { installCleanup, runMain, stopAll } from '../lib/procs';
import { BenchRedis, startRedis } from '../lib/redis';
import { NOOP_BODY, SluiceApi, batchBody, startApi } from '../lib/sluice';

/** CPU time of a process so far, ms (utime + stime, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

interface Side {
  name: string;
  redis: BenchRedis;
  api: SluiceApi;
  total: { tasks: number; apiMs: number; redisMs: number; seconds: number };
}

const perTask = (ms: number, tasks: number): string => `${((ms * 1000) / tasks).toFixed(1)} µs`;

async function main(): Promise<void> {
  installCleanup();
  const args = process.argv.slice(2);
  const batch = args.includes('--batch');
  const [path, body, perRequest, inFlight] = batch ? ['/api/v1/tasks/batch', batchBody(1000), 1000, 2] : ['/api/v1/tasks', NOOP_BODY, 1, 64];
  const rounds = Number(process.env.ROUNDS ?? 4);
  const sides: Side[] = [];
  try {
    for (const name of args.filter((a) => !a.startsWith('--'))) {
      const [dir, nodeOptions] = name.split('|');
      const redis = await startRedis(`ab-${sides.length}`);
      const api = await startApi({ distDir: join(process.cwd(), dir) }, redis.url, 'sluice', nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}, `api-${sides.length}`);
      sides.push({ name, redis, api, total: { tasks: 0, apiMs: 0, redisMs: 0, seconds: 0 } });
    }
    const op = (side: Side) => async (): Promise<number> => {
      const r = await side.api.http.request('POST', path, body);
      if (r.status !== 201 && r.status !== 200) throw new Error(`POST ${path} answered ${r.status}: ${r.body.slice(0, 200)}`);
      return perRequest;
    };
    for (const side of sides) await closedLoop({ inFlight, durationMs: 8000, op: op(side) });
    for (let round = 0; round < rounds; round++) {
      for (const side of sides) {
        const [api0, redis0] = [cpuMs(side.api.proc.pid), cpuMs(side.redis.proc.pid)];
        const r = await closedLoop({ inFlight, durationMs: 5000, op: op(side) });
        const [apiMs, redisMs, tasks] = [cpuMs(side.api.proc.pid) - api0, cpuMs(side.redis.proc.pid) - redis0, r.ops * perRequest];
        Object.assign(side.total, { tasks: side.total.tasks + tasks, apiMs: side.total.apiMs + apiMs, redisMs: side.total.redisMs + redisMs, seconds: side.total.seconds + r.seconds });
        process.stdout.write(`${side.name}: ${Math.round(tasks / r.seconds)} tasks/s, API ${perTask(apiMs, tasks)}, Redis ${perTask(redisMs, tasks)} per task\n`);
      }
    }
    for (const { name, total } of sides) {
      process.stdout.write(`TOTAL ${name}: ${Math.round(total.tasks / total.seconds)} tasks/s, API ${perTask(total.apiMs, total.tasks)}, Redis ${perTask(total.redisMs, total.tasks)} per task\n`);
    }
  } finally {
    for (const side of sides) {
      await side.api.stop();
      await side.redis.stop();
    }
    await stopAll(2000);
  }
}

runMain(main);
