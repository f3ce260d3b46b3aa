import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { type ChildMessage, isChildMessage, type ParentMessage } from '../child/ipc.types';
import type { ForkPlan } from './fork-plan.util';
import { ChildStartError } from './pool.types';
import { RssReader } from './rss.util';

/**
 * starting → idle ⇄ busy → stopping → exited. A child that fails to start goes straight to
 * stopping and is never used.
 */
export type ChildState = 'starting' | 'idle' | 'busy' | 'stopping' | 'exited';

/** What a ready child sends about the task it runs. */
export type TaskMessage = Exclude<ChildMessage, { type: 'ready' }>;

export interface PoolChildListener {
  onReady(child: PoolChild): void;
  onMessage(child: PoolChild, message: TaskMessage): void;
  /** Called at most once, before onExit. */
  onStartFailed(child: PoolChild, error: Error): void;
  onExit(child: PoolChild, exitCode: number | null, signal: NodeJS.Signals | null): void;
}

export interface PoolChildSettings {
  startTimeoutMs: number;
  niceness: number;
}

/**
 * Busy children must not starve their supervisor. Measured on 2 saturated cores (two busy loops
 * killed over and over, their replacements forking, other load besides), the p99 lateness of the
 * hard-limit kill was 100-180 ms with children at the parent's priority and 5-30 ms at niceness 10.
 * Raising a child's niceness needs no privilege.
 */
function lowerPriority(pid: number, niceness: number): void {
  try {
    setPriority(pid, niceness);
  } catch {
    // Best effort: the child may already be gone; its exit is handled like any other.
  }
}

/** One forked child process: its start-up, its channel and how it is stopped. No task logic. */
export class PoolChild {
  state: ChildState = 'starting';
  tasksRun = 0;
  /** From fork to the ready message. */
  startupMs = 0;
  /** Resolves once the process is gone (reaped), so its pid no longer exists. */
  readonly exited: Promise<void>;
  private readonly proc: ChildProcess;
  private readonly forkedAt = performance.now();
  private readonly startTimer: NodeJS.Timeout;
  private escalation: NodeJS.Timeout | null = null;
  private rss: RssReader | undefined;
  private markExited!: () => void;

  constructor(plan: ForkPlan, settings: PoolChildSettings, private readonly listener: PoolChildListener) {
    const { startTimeoutMs } = settings;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.proc = fork(plan.modulePath, plan.args, { execPath: plan.execPath, execArgv: plan.execArgv, serialization: 'json' });
    if (this.proc.pid && settings.niceness > 0) lowerPriority(this.proc.pid, settings.niceness);
    this.startTimer = setTimeout(() => this.failStart(new ChildStartError(`Child not ready within ${startTimeoutMs} ms`)), startTimeoutMs);
    this.proc.on('message', (message) => this.handleMessage(message));
    this.proc.on('error', (err) => this.handleError(err));
    this.proc.once('exit', (code, signal) => this.handleExit(code, signal));
  }

  /** 0 only if the spawn itself failed, in which case the child never becomes ready. */
  get pid(): number {
    return this.proc.pid ?? 0;
  }

  get connected(): boolean {
    return this.proc.connected;
  }

  rssBytes(): number | null {
    if (this.state === 'exited' || !this.proc.pid) return null;
    this.rss ??= new RssReader(this.proc.pid);
    return this.rss.read();
  }

  send(message: ParentMessage): void {
    // A send that fails means the child is dying; its exit event settles whatever it was running.
    if (this.proc.connected) this.proc.send(message, () => undefined);
  }

  kill(): void {
    this.clearEscalation();
    if (this.state !== 'exited') this.proc.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after `graceMs` for a child that ignores or outlasts it. */
  terminate(graceMs: number): void {
    if (this.state === 'exited' || this.escalation) return;
    if (graceMs <= 0) return this.kill();
    this.proc.kill('SIGTERM');
    this.escalation = setTimeout(() => this.kill(), graceMs);
  }

  private handleMessage(message: unknown): void {
    if (!isChildMessage(message)) return;
    if (message.type !== 'ready') return this.listener.onMessage(this, message);
    if (this.state !== 'starting') return;
    clearTimeout(this.startTimer);
    this.startupMs = performance.now() - this.forkedAt;
    this.state = 'idle';
    this.listener.onReady(this);
  }

  private failStart(error: Error): void {
    if (this.state !== 'starting') return;
    clearTimeout(this.startTimer);
    this.state = 'stopping';
    this.kill();
    this.listener.onStartFailed(this, error);
  }

  private handleError(err: Error): void {
    if (this.state === 'starting') this.failStart(new ChildStartError(`Child could not start: ${err.message}`));
    // A spawn that failed emits no 'exit'.
    if (this.proc.pid === undefined) this.handleExit(null, null);
  }

  private handleExit(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.state === 'exited') return;
    this.failStart(new ChildStartError(`Child exited before it was ready code=${exitCode} signal=${signal}`));
    // Also pending when the pool stopped a child that was still starting.
    clearTimeout(this.startTimer);
    this.clearEscalation();
    this.rss?.close();
    this.state = 'exited';
    this.markExited();
    this.listener.onExit(this, exitCode, signal);
  }

  private clearEscalation(): void {
    if (this.escalation) clearTimeout(this.escalation);
    this.escalation = null;
  }
}
