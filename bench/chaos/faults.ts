import { readFileSync, readdirSync } from 'node:fs';
import { Proc } from '../lib/procs';
import { childrenOf, isDead } from '../lib/sysinfo';

/** The faults the soak injects, and the process checks that go with them. */

export interface KillRecord {
  /** Date.now() of the SIGKILL. */
  at: number;
  worker: string;
  pid: number;
  /** The worker's pool children just before it died. */
  children: number[];
  /** Those still alive (and not zombies) 3 s later: must be none. */
  survivors: number[];
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * SIGKILLs the worker's own process, not its group: its pool children must die by themselves
 * (setpriv's parent-death signal, or the child's watchdog thread), as they would in a pod.
 */
export async function killWorker(proc: Proc, settleMs = 3000): Promise<KillRecord> {
  const children = childrenOf(proc.pid);
  const rec: KillRecord = { at: Date.now(), worker: proc.name, pid: proc.pid, children, survivors: [] };
  try {
    process.kill(proc.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await proc.exited;
  await new Promise((r) => setTimeout(r, settleMs));
  // Still a pool child by its command line: a pid reused by anything else within 3 s is not it.
  rec.survivors = children.filter((pid) => !isDead(pid) && cmdline(pid).includes('child.main'));
  return rec;
}

export interface FreezeRecord {
  at: number;
  seconds: number;
}

/** SIGSTOPs redis-server for `seconds`, then SIGCONT; a frozen server keeps its sockets open. */
export class RedisFreezer {
  private frozen = false;

  constructor(private readonly proc: Proc) {
    // Whatever ends the harness, never leave Redis stopped (stopAll's SIGTERM would not reach it).
    process.on('exit', () => this.thaw());
  }

  async freeze(seconds: number): Promise<FreezeRecord> {
    const rec = { at: Date.now(), seconds };
    process.kill(this.proc.pid, 'SIGSTOP');
    this.frozen = true;
    try {
      await new Promise((r) => setTimeout(r, seconds * 1000));
    } finally {
      this.thaw();
    }
    return rec;
  }

  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    try {
      process.kill(this.proc.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
}

/** Every live process whose command line mentions `marker` (the run's private copy of dist/). */
export function processesMentioning(marker: string): { pid: number; ppid: number; cmd: string }[] {
  const out: { pid: number; ppid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || isDead(pid)) continue;
    const cmd = cmdline(pid);
    if (!cmd.includes(marker)) continue;
    let ppid = 0;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      continue;
    }
    out.push({ pid, ppid, cmd: cmd.trim().slice(0, 200) });
  }
  return out;
}
