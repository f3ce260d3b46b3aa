import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/app/embedded-redis';
import { launch, liveNames, Proc } from './procs';

/**
 * A throwaway redis-server per phase, with the same flags as src/app/embedded-redis.ts (nothing on
 * disk), but started through the harness's process registry so it can never be left behind.
 */
export interface BenchRedis {
  url: string;
  port: number;
  proc: Proc;
  /** A client for the harness itself; its connections are named bench:* and left out of call counts. */
  client: Redis;
  stop(): Promise<void>;
}

export async function startRedis(name: string): Promise<BenchRedis> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = launch(
      `redis-${name}`,
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning', '--maxclients', '1000'],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    try {
      await waitForPing(port, proc);
      const url = `redis://127.0.0.1:${port}`;
      const client = benchClient(url, 'bench:harness');
      await client.ping();
      return {
        url,
        port,
        proc,
        client,
        stop: async () => {
          client.disconnect();
          await proc.stop(2000);
        },
      };
    } catch (err) {
      lastError = err as Error;
      await proc.stop(500);
    }
  }
  throw new Error(`redis-server did not start: ${lastError?.message}`);
}

async function waitForPing(port: number, proc: Proc): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (!proc.alive) throw new Error(`redis-server exited: ${proc.tail()}`);
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      return;
    } catch {
      r.disconnect();
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  throw new Error('redis-server did not answer PING within 5 s');
}

export function benchClient(url: string, name: string): Redis {
  const r = new Redis(url, { connectionName: name, maxRetriesPerRequest: null });
  r.on('error', () => undefined);
  return r;
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function usedMemory(r: Redis): Promise<number> {
  return Number(parseInfo(await r.info('memory')).used_memory);
}

export type CommandStats = Record<string, { calls: number; usec: number }>;

/** INFO commandstats. Redis 7 counts commands run inside Lua scripts here too, under their own names. */
export async function commandStats(r: Redis): Promise<CommandStats> {
  const out: CommandStats = {};
  for (const [k, v] of Object.entries(parseInfo(await r.info('commandstats')))) {
    if (!k.startsWith('cmdstat_')) continue;
    const calls = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
    const usec = Number(/usec=(\d+)/.exec(v)?.[1] ?? 0);
    out[k.slice('cmdstat_'.length)] = { calls, usec };
  }
  return out;
}

/** Only these harness commands are left out of the delta: INFO itself, CONFIG and the completion polls. */
const HARNESS_COMMANDS = new Set(['info', 'config|resetstat', 'config|get', 'client|setname', 'client|list', 'monitor', 'dbsize']);

export interface CallsPerTask {
  total: number;
  /** Script invocations (each one round trip); their inner commands are counted under their own names. */
  scripts: number;
  /** Calls per task by command name, highest first. */
  byCommand: Record<string, number>;
  /** Redis CPU in microseconds per task, all commands. */
  usec: number;
}

export function callsPerTask(before: CommandStats, after: CommandStats, tasks: number, exclude: Record<string, number> = {}): CallsPerTask {
  const byCommand: Record<string, number> = {};
  let total = 0;
  let usec = 0;
  for (const [cmd, a] of Object.entries(after)) {
    if (HARNESS_COMMANDS.has(cmd)) continue;
    const calls = a.calls - (before[cmd]?.calls ?? 0) - (exclude[cmd] ?? 0);
    if (calls <= 0) continue;
    byCommand[cmd] = calls / tasks;
    total += calls;
    usec += a.usec - (before[cmd]?.usec ?? 0);
  }
  const sorted = Object.fromEntries(Object.entries(byCommand).sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  const scripts = (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0);
  return { total: Math.round((total / tasks) * 100) / 100, scripts: Math.round(scripts * 100) / 100, byCommand: sorted, usec: Math.round(usec / tasks) };
}

/** sha1 of every Lua script that BullMQ and Sluice send, so EVALSHA calls can be named. */
export function scriptNames(distDir?: string): Map<string, string> {
  const names = new Map<string, string>();
  const sha = (s: string): string => createHash('sha1').update(s).digest('hex');
  // Loaded by path rather than imported: the set of scripts changes between versions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bull = require('bullmq/dist/cjs/scripts') as Record<string, { name: string; content: string }>;
  for (const s of Object.values(bull)) if (s && typeof s.content === 'string') names.set(sha(s.content), `bullmq:${s.name}`);
  try {
    // From the build under test, so the hashes match what its processes send: the lifecycle
    // commands (BullMQ's transitions wrapped with Sluice's half, under BullMQ's own names, and
    // Sluice's own), as src/redis/redis.factory.ts defines them on Sluice's connections.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(distDir ? join(distDir, 'tasks', 'lifecycle', 'lifecycle-scripts.js') : '../../src/tasks/lifecycle/lifecycle-scripts') as {
      lifecycleCommands(): Record<string, { lua: string }>;
    };
    for (const [name, c] of Object.entries(mod.lifecycleCommands())) names.set(sha(c.lua), `sluice:${name.replace(/:[\d.]+$/, '')}`);
  } catch {
    /* the scripts module moved: EVALSHA calls stay unnamed */
  }
  return names;
}

export interface RoundTrips {
  tasks: number;
  /** Top-level commands (client round trips, pipelined or not) per task, by process and connection name. */
  byClient: Record<string, number>;
  /** Top-level commands per task, by command (EVALSHA by script name). */
  byCommand: Record<string, number>;
  /** Commands run inside scripts, per task. */
  insideScripts: number;
  total: number;
}

/**
 * Counts top-level commands with MONITOR, which marks commands run by scripts as coming from
 * "lua" and the others with the client's address (named through CLIENT LIST). MONITOR slows Redis
 * down, so this runs apart from the timed runs, on a small number of tasks.
 */
export async function countRoundTrips(url: string, tasks: number, work: () => Promise<void>, distDir?: string): Promise<RoundTrips> {
  const names = scriptNames(distDir);
  const lister = benchClient(url, 'bench:lister');
  const mon = await benchClient(url, 'bench:monitor').monitor();
  const byAddr = new Map<string, Map<string, number>>();
  let insideScripts = 0;
  mon.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua' || source.endsWith(' lua') || source.includes('lua')) {
      insideScripts++;
      return;
    }
    const cmd = args[0]?.toLowerCase() ?? '?';
    const label = cmd === 'evalsha' ? (names.get(args[1]) ?? `evalsha:${args[1]?.slice(0, 8)}`) : cmd;
    let m = byAddr.get(source);
    if (!m) byAddr.set(source, (m = new Map()));
    m.set(label, (m.get(label) ?? 0) + 1);
  });
  const clients = async (): Promise<Map<string, string>> => {
    const text = (await lister.client('LIST')) as string;
    const out = new Map<string, string>();
    for (const line of text.split('\n')) {
      const addr = /addr=(\S+)/.exec(line)?.[1];
      const name = /name=(\S*)/.exec(line)?.[1] ?? '';
      if (addr) out.set(addr, name || 'unnamed');
    }
    return out;
  };
  const before = await clients();
  const ownersBefore = socketOwners(url);
  await work();
  await new Promise((r) => setTimeout(r, 200));
  const after = await clients();
  const owners = new Map([...ownersBefore, ...socketOwners(url)]);
  mon.disconnect();
  lister.disconnect();
  const byClient: Record<string, number> = {};
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [addr, cmds] of byAddr) {
    const conn = after.get(addr) ?? before.get(addr) ?? `gone:${addr}`;
    if (conn.startsWith('bench:')) continue;
    const name = `${owners.get(addr) ?? '?'} ${conn}`;
    for (const [cmd, n] of cmds) {
      byClient[name] = (byClient[name] ?? 0) + n;
      byCommand[cmd] = (byCommand[cmd] ?? 0) + n;
      total += n;
    }
  }
  const per = (o: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((v / tasks) * 100) / 100]));
  return { tasks, byClient: per(byClient), byCommand: per(byCommand), insideScripts: Math.round((insideScripts / tasks) * 100) / 100, total: Math.round((total / tasks) * 100) / 100 };
}

/**
 * Which of the harness's processes owns each client socket to this Redis (`ss -tnp`, by the
 * client's address), so MONITOR's counts can be told apart per process (API, worker, peer).
 */
function socketOwners(url: string): Map<string, string> {
  const port = new URL(url).port;
  const names = liveNames();
  const out = new Map<string, string>();
  let text = '';
  try {
    text = execFileSync('ss', ['-tnpH'], { encoding: 'utf8', timeout: 5000 });
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 6 || !cols[4].endsWith(`:${port}`)) continue;
    const pid = Number(/pid=(\d+)/.exec(line)?.[1]);
    out.set(cols[3], names.get(pid) ?? (pid === process.pid ? 'harness' : `pid ${pid}`));
  }
  return out;
}

/** Polls `read` until it reaches `target`; returns performance.now() at the poll that saw it. */
export async function waitUntil(read: () => Promise<number>, target: number, timeoutMs: number, everyMs = 5, what = 'counter'): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last = 0;
  for (;;) {
    last = await read();
    const now = performance.now();
    if (last >= target) return now;
    if (now > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} to reach ${target}; it is ${last}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Where a retained finished task's Redis bytes go: its job hash and its share of sorted-set entries. */
export interface MemoryBreakdown {
  /** Tasks the sorted sets' entries are shared among (every task held under `base`). */
  tasks: number;
  /** MEMORY USAGE (SAMPLES 0) of a job hash, mean over a sample of finished jobs, and its encoding. */
  jobHashBytes: number;
  jobHashEncoding: string;
  jobHashFields: number;
  /** Sorted-set entries per task (all zsets under `base`), and their bytes per entry and per task. */
  zsetEntriesPerTask: number;
  zsetBytesPerEntry: number;
  zsetBytesPerTask: number;
  /** Job hash + its share of the sorted sets. */
  perTask: number;
  /** Entries per task by sorted set (key without `base`). */
  zsets: Record<string, number>;
}

/**
 * MEMORY USAGE of a sample of finished jobs' hashes (from `<base>completed`) plus every sorted set
 * under `base` divided among `tasks`: the per-key view of what used_memory deltas measure in bulk.
 */
export async function memoryBreakdown(r: Redis, base: string, tasks: number, sample = 200): Promise<MemoryBreakdown> {
  const ids = (await r.zrange(`${base}completed`, '0', String(sample - 1))) as string[];
  let hashBytes = 0;
  let fields = 0;
  let encoding = '';
  for (const id of ids) {
    hashBytes += Number(await r.call('MEMORY', 'USAGE', base + id, 'SAMPLES', '0'));
    fields += await r.hlen(base + id);
    encoding ||= String(await r.call('OBJECT', 'ENCODING', base + id));
  }
  const zsets: Record<string, number> = {};
  let entries = 0;
  let zbytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = (await r.call('SCAN', cursor, 'MATCH', `${base}*`, 'COUNT', '1000', 'TYPE', 'zset')) as [string, string[]];
    cursor = next;
    for (const k of keys) {
      const n = await r.zcard(k);
      entries += n;
      zbytes += Number(await r.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
      zsets[k.slice(base.length)] = Math.round((n / tasks) * 100) / 100;
    }
  } while (cursor !== '0');
  const jobHashBytes = ids.length ? hashBytes / ids.length : NaN;
  const zsetBytesPerTask = zbytes / tasks;
  return {
    tasks,
    jobHashBytes: Math.round(jobHashBytes),
    jobHashEncoding: encoding,
    jobHashFields: ids.length ? Math.round((fields / ids.length) * 10) / 10 : 0,
    zsetEntriesPerTask: Math.round((entries / tasks) * 100) / 100,
    zsetBytesPerEntry: entries ? Math.round(zbytes / entries) : 0,
    zsetBytesPerTask: Math.round(zsetBytesPerTask),
    perTask: Math.round(jobHashBytes + zsetBytesPerTask),
    zsets: Object.fromEntries(Object.entries(zsets).sort((a, b) => b[1] - a[1])),
  };
}
