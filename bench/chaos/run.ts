/**
 * Sluice's chaos soak: real API and worker processes from the build, a real redis-server, mixed
 * diagnostic tasks submitted through the HTTP API, and faults: a random worker SIGKILLed about
 * every 10 s (and replaced), Redis frozen (SIGSTOP) for 10 s twice. It then checks that no task
 * was lost, no outcome was accepted twice, the counters equal the final states counted one by one,
 * and no child process outlived its worker. See docs/RELIABILITY.md.
 *
 *   npm run chaos                 # builds, then ≥ 2,000 tasks over ≥ 3 minutes
 *   npm run chaos -- --smoke      # < 60 s; part of npm test
 *   npm run chaos -- --seed=42 --keep
 *   node --require @swc-node/register bench/chaos/run.ts --dist=/path/to/dist
 *
 * Exit code 1 when a check fails (or the harness breaks); the table says which.
 */
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../lib/http';
import { installCleanup, Proc, runMain, stopAll } from '../lib/procs';
import { startRedis } from '../lib/redis';
import { SluiceWorker, startApi, startWorker } from '../lib/sluice';
import { ChaosClient, Tracked, TaskView } from './client';
import { KillRecord, killWorker, processesMentioning, RedisFreezer } from './faults';
import { CHAOS_ENV, KINDS, planKinds, prng } from './mix';
import { countLogLines, judge, readRunRecords, renderRows } from './verdict';

const ROOT = join(__dirname, '..', '..');
/** Tasks submitted a second time with the same key once accepted: the answer must be 200, same id. */
const REPLAY_SHARE = 0.03;

interface Plan {
  tasks: number;
  submitSeconds: number;
  workers: number;
  /** Mean seconds between worker kills (each one 0.8..1.2 × this). */
  killEvery: number;
  /** Seconds into the submit phase at which Redis is frozen, and for how long. */
  freezesAt: number[];
  freezeSeconds: number;
  drainSeconds: number;
  settleSeconds: number;
  pollMs: number;
  minTasks: number;
  minSeconds: number;
}

const FULL: Plan = {
  tasks: 2400,
  submitSeconds: 180,
  workers: 3,
  killEvery: 10,
  freezesAt: [55, 125],
  freezeSeconds: 10,
  drainSeconds: 120,
  settleSeconds: 5,
  pollMs: 1000,
  minTasks: 2000,
  minSeconds: 180,
};

/** Every fault once or twice, at a size that fits in a minute with the build. */
const SMOKE: Plan = {
  tasks: 150,
  submitSeconds: 12,
  workers: 3,
  killEvery: 4.5,
  freezesAt: [5],
  freezeSeconds: 4,
  drainSeconds: 20,
  settleSeconds: 2.5,
  pollMs: 500,
  minTasks: 150,
  minSeconds: 12,
};

interface Args {
  smoke: boolean;
  seed: number;
  dist: string | null;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { smoke: false, seed: Date.now() % 1_000_000, dist: null, keep: false };
  for (const s of argv) {
    if (s === '--smoke') a.smoke = true;
    else if (s === '--keep') a.keep = true;
    else if (s.startsWith('--seed=')) a.seed = Number(s.slice(7));
    else if (s.startsWith('--dist=')) a.dist = s.slice(7);
    else throw new Error(`Unknown argument ${s}; known: --smoke --seed=N --keep --dist=DIR`);
  }
  return a;
}

/** Runs from a private copy of dist/, as the bench does: a rebuild meanwhile must not pull files away. */
function snapshotDist(from: string | null, into: string): string {
  const dist = from ?? join(ROOT, 'dist');
  if (!existsSync(join(dist, 'main.js')) || !existsSync(join(dist, 'worker.js'))) throw new Error(`${dist}/main.js is missing: run \`npm run chaos\`, which builds first`);
  const snap = join(into, 'dist');
  cpSync(dist, snap, { recursive: true });
  return snap;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const plan = args.smoke ? SMOKE : FULL;
  installCleanup();
  const began = Date.now();
  const log = (m: string): void => void process.stderr.write(`[chaos +${((Date.now() - began) / 1000).toFixed(1)}s] ${m}\n`);
  // Separate streams: the mix and the fault schedule must not depend on how many retries the client made.
  const mixRnd = prng(args.seed);
  const faultRnd = prng(args.seed + 1);
  const clientRnd = prng(args.seed + 2);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
  const runLog = join(dir, 'runs');
  const logDir = join(dir, 'logs');
  mkdirSync(runLog);
  mkdirSync(logDir);
  const distDir = snapshotDist(args.dist, dir);
  log(`seed ${args.seed}, ${plan.tasks} tasks over ${plan.submitSeconds} s, ${plan.workers} workers × ${CHAOS_ENV.WORKER_CONCURRENCY} children, files in ${dir}`);

  const logs: { name: string; stream: WriteStream; text: string[] }[] = [];
  const capture = (p: Proc): void => {
    const entry = { name: p.name, stream: createWriteStream(join(logDir, `${p.name}.log`)), text: [] as string[] };
    entry.text.push(p.output());
    entry.stream.write(p.output());
    const on = (c: Buffer): void => {
      entry.text.push(c.toString());
      entry.stream.write(c);
    };
    p.child.stdout?.on('data', on);
    p.child.stderr?.on('data', on);
    logs.push(entry);
  };

  const redis = await startRedis('chaos');
  const prefix = 'chaos';
  const opts = { distDir };
  // The copy of dist/ lives outside the checkout, so it finds the checkout's packages through NODE_PATH.
  const env = { ...CHAOS_ENV, LOG_LEVEL: 'info', NODE_PATH: join(ROOT, 'node_modules') };
  const workers: SluiceWorker[] = [];
  let workerSeq = 0;
  const spawnWorker = async (): Promise<void> => {
    const label = `worker-${++workerSeq}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const w = await startWorker(opts, redis.url, prefix, env, label);
        capture(w.proc);
        workers.push(w);
        return;
      } catch (err) {
        // A replacement that boots during a Redis freeze may miss its readiness deadline.
        log(`${label} did not start (${(err as Error).message.split('\n')[0]}); retrying`);
        if (attempt >= 3) throw err;
      }
    }
  };
  const [api] = await Promise.all([startApi(opts, redis.url, prefix, { ...env, LOG_LEVEL: 'warn' }, 'api'), ...Array.from({ length: plan.workers }, spawnWorker)]);
  capture(api.proc);
  log(`API on ${api.port}, ${workers.length} workers up; Redis ${redis.url}`);

  const client = new ChaosClient(api.http, clientRnd, 120_000);
  const kinds = planKinds(plan.tasks, mixRnd, args.smoke);
  const tracked: Tracked[] = kinds.map((kind, index) => {
    const key = `chaos-${args.seed}-${index}`;
    const body = ChaosClient.bodyFor({ kind, key }, KINDS[kind].payload(mixRnd), runLog);
    return { index, kind, key, body, replayAfter: mixRnd() < REPLAY_SHARE, unavailable: 0, transportErrors: 0, serverErrors: 0, notFound: 0 };
  });

  // Faults, on their own timers during the submit phase.
  const freezer = new RedisFreezer(redis.proc);
  const kills: KillRecord[] = [];
  const freezes: { at: number; seconds: number }[] = [];
  let restarts = 0;
  const faultsUntil = Date.now() + plan.submitSeconds * 1000;
  const submitStart = Date.now();
  const killLoop = (async () => {
    const pending: Promise<void>[] = [];
    for (;;) {
      const next = Date.now() + plan.killEvery * 1000 * (0.8 + 0.4 * faultRnd());
      if (next >= faultsUntil) break;
      await sleep(next - Date.now());
      // Never the last ready worker: a pod set that loses every pod at once is an outage, not this test.
      const live = workers.filter((w) => w.proc.alive);
      if (live.length < 2) continue;
      const victim = live[Math.floor(faultRnd() * live.length)];
      workers.splice(workers.indexOf(victim), 1);
      log(`SIGKILL ${victim.proc.name} pid ${victim.proc.pid}`);
      pending.push(
        (async () => {
          const replacement = spawnWorker().then(() => void restarts++);
          kills.push(await killWorker(victim.proc));
          await replacement;
        })(),
      );
    }
    await Promise.all(pending);
  })();
  const freezeLoop = (async () => {
    for (const at of plan.freezesAt) {
      const wait = submitStart + at * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      log(`SIGSTOP redis-server for ${plan.freezeSeconds} s`);
      freezes.push(await freezer.freeze(plan.freezeSeconds));
      log('SIGCONT redis-server');
    }
  })();

  // Submissions at a steady pace; each one runs on its own (a frozen Redis must not pause the schedule).
  const open = new Set<Tracked>();
  const work: Promise<void>[] = [];
  const gap = (plan.submitSeconds * 1000) / plan.tasks;
  for (const t of tracked) {
    const due = submitStart + t.index * gap;
    if (due > Date.now()) await sleep(due - Date.now());
    work.push(
      (async () => {
        await client.submit(t);
        if (!t.id) return;
        open.add(t);
        if (t.kind === 'cancel_running' || t.kind === 'cancel_queued') await client.cancel(t, 10_000);
        else if (t.replayAfter) await client.replay(t);
      })(),
    );
  }
  log(`all ${tracked.length} submissions issued`);

  // Poll open tasks until each shows a final state (its first final view is kept to compare later).
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const batch = [...open];
      for (let i = 0; i < batch.length; i += 32) {
        await Promise.all(batch.slice(i, i + 32).map((t) => client.observe(t)));
      }
      for (const t of batch) if (t.firstFinal) open.delete(t);
      await sleep(plan.pollMs);
    }
  })();

  await Promise.all([...work, killLoop, freezeLoop]);
  const submittedAt = Date.now();
  log(`submissions and cancels answered; ${open.size} tasks not final yet; draining (deadline ${plan.drainSeconds} s)`);
  const drainDeadline = submittedAt + plan.drainSeconds * 1000;
  while (open.size > 0 && Date.now() < drainDeadline) await sleep(250);
  polling = false;
  await poller;
  log(`drained: ${open.size} not final${open.size ? ` (${[...open].slice(0, 5).map((t) => t.id).join(' ')})` : ''}; settling ${plan.settleSeconds} s`);
  // A stale run that could still write would do it now: wait past a lock's lifetime, then read everything again.
  await sleep(plan.settleSeconds * 1000);
  const finalViews = new Map<string, TaskView | 'missing' | null>();
  const withIds = tracked.filter((t) => t.id);
  for (let i = 0; i < withIds.length; i += 32) {
    await Promise.all(
      withIds.slice(i, i + 32).map(async (t) => {
        let v = await client.view(t.id!);
        for (let k = 0; v === null && k < 10; k++) v = (await sleep(200), await client.view(t.id!));
        finalViews.set(t.id!, v);
      }),
    );
  }
  const metrics = await client.metrics();
  const seconds = (Date.now() - submitStart) / 1000;

  log('stopping the API and workers');
  await Promise.all([api.stop(), ...workers.map((w) => w.stop())]);
  await sleep(500);
  const orphansAtEnd = processesMentioning(distDir);
  for (const o of orphansAtEnd) {
    try {
      process.kill(o.pid, 'SIGKILL'); // counted above; the harness must not leave them behind
    } catch {
      /* gone */
    }
  }
  await redis.stop();
  await stopAll(2000);
  await Promise.all(logs.map((l) => new Promise((r) => l.stream.end(r))));

  const texts = logs.filter((l) => l.name.includes('worker')).map((l) => l.text.join(''));
  const records = readRunRecords(runLog);
  const verdict = judge({
    tracked,
    finalViews,
    records,
    superseded: countLogLines(texts, /Task run superseded task_id=([0-9a-f-]+)/g),
    completedLogs: countLogLines(texts, /Task completed task_id=([0-9a-f-]+)/g),
    kills,
    restarts,
    freezes,
    metrics,
    orphansAtEnd,
    seconds,
    minTasks: plan.minTasks,
    minSeconds: plan.minSeconds,
  });

  const when = new Date().toISOString();
  const title = `Sluice chaos soak${args.smoke ? ' (SMOKE)' : ''}, ${when}, seed ${args.seed}, ${seconds.toFixed(0)} s from the first submission`;
  const table = renderRows(verdict.rows);
  process.stdout.write(`\n${title}\n\n${table}\n\nFinal states by kind\n\n${verdict.kinds}\n`);
  if (verdict.evidence.length) process.stdout.write(`\nEvidence\n${verdict.evidence.map((e) => `- ${e}`).join('\n')}\n`);
  process.stdout.write(`\n${verdict.passed ? 'PASSED' : 'FAILED'}: ${verdict.rows.filter((r) => r.ok === false).length} checks failed. Logs and run records: ${args.keep || !verdict.passed ? dir : '(removed; --keep keeps them)'}\n`);

  const resultsDir = join(__dirname, '..', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, args.smoke ? 'chaos-smoke.json' : 'chaos.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        at: when,
        seed: args.seed,
        smoke: args.smoke,
        seconds,
        plan,
        env: CHAOS_ENV,
        passed: verdict.passed,
        rows: verdict.rows,
        kinds: verdict.kinds,
        evidence: verdict.evidence,
        kills,
        freezes,
        metrics,
        tasks: tracked.map((t) => {
          const v = t.id ? finalViews.get(t.id) : undefined;
          return {
            id: t.id,
            kind: t.kind,
            key: t.key,
            code: t.code,
            retriedSubmit: t.unavailable + t.transportErrors + t.serverErrors,
            cancel: t.cancel && { code: t.cancel.code, previous: t.cancel.previous },
            sentAt: t.sentAt,
            final: v && v !== 'missing' ? { status: v.status, error: v.error?.type ?? null, attempts: v.attempts, at: v.status === 'cancelled' ? v.cancelled_at : v.finished_at } : (v ?? null),
            runs: (t.id ? (records.byTask.get(t.id) ?? []) : []).map((r) => `${r.attempt} ${r.pid} ${r.startedAt} ${r.endedAt} ${r.outcome}`),
          };
        }),
        dir,
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${file}`);
  if (verdict.passed && !args.keep) rmSync(dir, { recursive: true, force: true });
  return verdict.passed ? 0 : 1;
}

runMain(main, 'chaos');
