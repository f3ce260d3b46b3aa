import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Every process the benchmark starts goes through here, so none outlives it:
 * - each runs in a process group of its own (detached), so a group kill also takes its descendants
 *   (Sluice's and Celery's pool children, BullMQ's sandbox children);
 * - each is wrapped in `setpriv --pdeathsig SIGKILL` where available, so the kernel kills it even
 *   if the harness itself is SIGKILLed; setpriv execs in place, so the pid is the process's own;
 * - on exit, a signal or a crash of the harness, every group still alive is SIGKILLed.
 */

const SETPRIV = '/usr/bin/setpriv';
const OUTPUT_KEEP = 64 * 1024;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<Proc>();

export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private out = '';
  private watchers = new Set<() => void>();

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    opts: { env: NodeJS.ProcessEnv; cwd?: string },
  ) {
    const wrap = existsSync(SETPRIV);
    this.child = spawn(wrap ? SETPRIV : cmd, wrap ? ['--pdeathsig', 'SIGKILL', '--', cmd, ...args] : args, {
      env: opts.env,
      cwd: opts.cwd,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    // Keep draining both pipes for the whole run: a full pipe would block the process.
    const onData = (chunk: Buffer): void => {
      this.out += chunk.toString();
      if (this.out.length > OUTPUT_KEEP * 2) this.out = this.out.slice(-OUTPUT_KEEP);
      for (const w of this.watchers) w();
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.out += `\n[spawn error] ${err.message}`;
        this.exitInfo = { code: -1, signal: null };
        live.delete(this);
        resolve(this.exitInfo);
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        for (const w of this.watchers) w();
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  output(): string {
    return this.out;
  }

  tail(chars = 2000): string {
    return this.out.slice(-chars).trim();
  }

  write(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Resolves with the first match of `re` in the output; rejects on exit or timeout. */
  waitForOutput(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.out.slice(from).match(re);
        if (m) return done(() => resolve(m));
        if (!this.alive) return done(() => reject(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before printing ${re}: ${this.tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name} did not print ${re} within ${timeoutMs} ms: ${this.tail()}`))), timeoutMs);
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.watchers.delete(check);
        fn();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** SIGTERM to the process, SIGKILL to its whole group after `graceMs`, and always a final sweep of the group. */
  async stop(graceMs = 5000): Promise<ExitInfo> {
    if (this.alive) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => this.killGroup(), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.killGroup();
    return this.exitInfo!;
  }

  killGroup(): void {
    if (!this.pid) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* the group is empty */
    }
  }
}

export function launch(name: string, cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string }): Proc {
  return new Proc(name, cmd, args, opts);
}

/** pid → name of every process the harness started and that still runs. */
export function liveNames(): Map<number, string> {
  return new Map([...live].map((p) => [p.pid, p.name]));
}

export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}

let installed = false;

/** Last resort: whatever way the harness ends, no process it started is left running. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const p of live) p.killGroup();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping every process it started\n`);
      for (const p of live) p.killGroup();
      process.exit(130);
    });
  }
}

/** Runs a command-line entry: exits with the code `main` returns (0 for none), or prints its error and exits 1. */
export function runMain(main: () => Promise<number | void>, label?: string): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => {
      process.stderr.write(`${label ? `${label}: ` : ''}${(err as Error | undefined)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
