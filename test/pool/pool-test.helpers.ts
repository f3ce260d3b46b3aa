import type { LogEvent } from '../../src/common/log-event';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildPool } from '../../src/processor/pool/child-pool';
import { waitFor } from '../support/wait';
import type { ChildPoolEvents, ChildPoolOptions, PoolLogger, PoolTask } from '../../src/processor/pool/pool.types';

export const FIXTURE_CHILD = join(__dirname, '..', 'fixtures', 'pool-fixture.child.ts');
export const BROKEN_CHILD = join(__dirname, '..', 'fixtures', 'broken.child.ts');

let taskSeq = 0;

export function task(taskName: string, payload: unknown, limits: { softLimitMs?: number; hardLimitMs?: number } = {}): PoolTask {
  return { taskId: `t${++taskSeq}-${taskName}`, taskName, payload, attempt: 1, softLimitMs: limits.softLimitMs ?? 5_000, hardLimitMs: limits.hardLimitMs ?? 10_000 };
}

export function newPool(options: Partial<ChildPoolOptions> = {}): ChildPool {
  return new ChildPool({ size: 1, maxTasksPerChild: 0, maxMemoryKiB: 0, cancelGraceMs: 300, ...options });
}

/** Every event of one kind the pool emits from now on. */
export function collect<K extends keyof ChildPoolEvents>(pool: ChildPool, event: K): ChildPoolEvents[K][0][] {
  const seen: ChildPoolEvents[K][0][] = [];
  (pool as unknown as NodeJS.EventEmitter).on(event, (e: ChildPoolEvents[K][0]) => seen.push(e));
  return seen;
}

export function memoryLogger(): PoolLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string | LogEvent) => void lines.push(typeof m === 'string' ? m : m.msg);
  return { lines, log: push, warn: push, error: push, debug: push };
}

function procStatus(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
}

/** Not running any more: reaped, or a zombie waiting for init (which may take a second to reap). */
export function processGone(pid: number): boolean {
  const status = procStatus(pid);
  return status === null || /^State:\s+Z/m.test(status);
}

/** CPU time (user + system) the process has used, in clock ticks (normally 10 ms). */
export function cpuTicks(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return 0;
  }
  // Fields after the command name, which may itself contain spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Resolves once the process has burnt `ms` of CPU since the call: a busy-loop handler is then past
 * its first statements (the cpu handler installs its signal handlers before it loops).
 */
export async function busyFor(pid: number, ms: number): Promise<void> {
  const start = cpuTicks(pid);
  await waitFor(`pid ${pid} to burn ${ms} ms of CPU`, () => (cpuTicks(pid) - start) * 10 >= ms, 5_000, 10);
}
