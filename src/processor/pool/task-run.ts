import type { PoolChild } from './pool-child';
import type { PoolTask, RunHooks, RunOutcome } from './pool.types';

/** Why the pool itself ended a run by signalling its child. */
export type StopReason = 'time_limit' | 'memory_limit' | 'cancelled' | 'shutdown';

/** setTimeout fires at once for longer delays; a limit beyond ~24.8 days is treated as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function isUsableLimit(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_TIMER_MS;
}

export interface ExitFacts {
  stopReason: StopReason | null;
  pid: number;
  durationMs: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  rssBytes: number;
}

/** The outcome of a run whose child exited before it reported a result. */
export function exitOutcome(f: ExitFacts): RunOutcome {
  const { pid, durationMs } = f;
  switch (f.stopReason) {
    case 'time_limit':
      return { kind: 'time_limit', pid, durationMs };
    case 'memory_limit':
      return { kind: 'memory_limit', pid, durationMs, rssBytes: f.rssBytes };
    case 'cancelled':
      return { kind: 'cancelled', pid, durationMs };
    case 'shutdown':
      return { kind: 'shutdown', pid, durationMs };
    case null:
      return { kind: 'crashed', exitCode: f.exitCode, signal: f.signal, pid, durationMs };
  }
}

/** One task from `pool.run` until its outcome: queued, then on a child with its limit timers. */
export class TaskRun {
  child: PoolChild | null = null;
  stopReason: StopReason | null = null;
  /** The RSS that triggered a memory_limit stop. */
  rssAtStop = 0;
  readonly outcome: Promise<RunOutcome>;
  private startedAt = 0;
  private endedAt: number | null = null;
  private settled = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private resolve!: (outcome: RunOutcome) => void;

  constructor(
    readonly task: PoolTask,
    readonly hooks: RunHooks,
  ) {
    this.outcome = new Promise((resolve) => (this.resolve = resolve));
  }

  get taskId(): string {
    return this.task.taskId;
  }

  handOver(child: PoolChild): void {
    this.child = child;
    this.startedAt = performance.now();
  }

  /** The first call wins: a run ends when its child is SIGKILLed or reports, not when it is reaped. */
  markEnded(): void {
    this.endedAt ??= performance.now();
  }

  /** From hand-over to the end of the run, or to now while it runs. */
  elapsedMs(): number {
    return (this.endedAt ?? performance.now()) - this.startedAt;
  }

  /** A timer per limit rather than a shared poll: the hard limit must fire within milliseconds. */
  after(ms: number, fn: () => void): void {
    if (isUsableLimit(ms)) this.timers.push(setTimeout(fn, ms));
  }

  every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  /** Resolves the outcome once; later calls are ignored. */
  settle(outcome: RunOutcome): boolean {
    if (this.settled) return false;
    this.settled = true;
    for (const t of this.timers) clearTimeout(t);
    this.resolve(outcome);
    return true;
  }
}
