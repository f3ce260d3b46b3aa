import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** /proc readers for the processes under test, and the machine description for the report. */

export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Stat {
  pid: number;
  state: string;
  ppid: number;
}

function stat(pid: number): Stat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

/** Gone, or a zombie not yet reaped: either way it runs nothing any more. */
export function isDead(pid: number): boolean {
  const s = stat(pid);
  return s === null || s.state === 'Z' || s.state === 'X';
}

export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s && s.ppid === ppid && s.state !== 'Z') out.push(s.pid);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Waits for the first of `pids` to die, checking every ~0.1 ms without spinning a core:
 * Atomics.wait sleeps the thread briefly, then the event loop gets a turn (for HTTP replies).
 * Resolves with performance.now() of the check that saw it, and the pid.
 */
export function firstDeath(pids: number[], timeoutMs: number): Promise<{ at: number; pid: number }> {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const step = (): void => {
      for (const pid of pids) {
        if (isDead(pid)) return resolve({ at: performance.now(), pid });
      }
      if (performance.now() > deadline) return reject(new Error(`none of ${pids.join(',')} died within ${timeoutMs} ms`));
      Atomics.wait(cell, 0, 0, 0.1);
      setImmediate(step);
    };
    step();
  });
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).trim();
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  redis: string;
  celery: string;
  kombu: string;
  python: string;
  bullmq: string;
  nestCore: string;
  fastify: string;
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(python: string): MachineInfo {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  return {
    nproc: Number(run('nproc', [])) || cpus().length,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: run('uname', ['-r']),
    node: process.version,
    redis: run('redis-server', ['--version']).replace(/^Redis server /, ''),
    celery: run(python, ['-c', 'import celery; print(celery.__version__)']),
    kombu: run(python, ['-c', 'import kombu; print(kombu.__version__)']),
    python: run(python, ['--version']),
    bullmq: pkgVersion('bullmq'),
    nestCore: pkgVersion('@nestjs/core'),
    fastify: pkgVersion('fastify'),
  };
}

export const TICKS_PER_SECOND = Number(run('getconf', ['CLK_TCK'])) || 100;
const TICK_MS = 1000 / TICKS_PER_SECOND;

interface CpuStat {
  self: number;
  reaped: number;
}

function cpuStat(pid: number): CpuStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime stime cutime cstime) are at 11-14 counting from the state field.
    return { self: (Number(f[11]) + Number(f[12])) * TICK_MS, reaped: (Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return null;
  }
}

/**
 * CPU time (ms) used so far by a process and everything under it: its own, its live children's,
 * and that of children it has already reaped (recycled pool children count too).
 */
export function treeCpuMs(pid: number): { self: number; children: number } {
  const me = cpuStat(pid);
  if (!me) return { self: 0, children: 0 };
  let children = me.reaped;
  for (const kid of childrenOf(pid)) {
    const k = treeCpuMs(kid);
    children += k.self + k.children;
  }
  return { self: me.self, children };
}
