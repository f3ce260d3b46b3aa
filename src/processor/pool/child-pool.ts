import { EventEmitter } from 'node:events';
import { defaultChildEntry, type ForkPlan, forkPlan, setprivIfAvailable } from './fork-plan.util';
import { PoolChild, type PoolChildListener, type PoolChildSettings, type TaskMessage } from './pool-child';
import {
  type ChildPoolEvents,
  type ChildPoolOptions,
  type PoolLogger,
  type PoolTask,
  type RecycleReason,
  type RunHooks,
  type RunOutcome,
  type SlotInfo,
} from './pool.types';
import { startRetryDelayMs } from './start-backoff.util';
import { exitOutcome, isUsableLimit, type StopReason, TaskRun } from './task-run';
import { logEvent } from '../../common/log-event';

const DEFAULT_MEMORY_SAMPLE_MS = 100;
/**
 * Children forked ahead, ready to replace a recycled one. A child's start takes ~90 ms of CPU and
 * a few hundred ms of wall time here, so with recycling every 10 tasks one spare at a time starves
 * the slots; two start in parallel.
 */
const DEFAULT_SPARE_CHILDREN = 2;
const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_CHILD_NICENESS = 10;
/** Consecutive start failures of one slot that make `start()` give up: the entry is broken. */
const START_ATTEMPTS = 3;

const RECYCLE_REASON: Record<StopReason, RecycleReason | null> = {
  time_limit: 'time_limit',
  memory_limit: 'max_memory',
  cancelled: 'cancelled',
  shutdown: null,
};

/** Where a child lives: a numbered slot that runs tasks, or a spare (slot null) waiting to replace one. */
interface Seat {
  readonly slot: number | null;
  child: PoolChild | null;
  startFailures: number;
  retryTimer: NodeJS.Timeout | null;
}

const newSeat = (slot: number | null): Seat => ({ slot, child: null, startFailures: 0, retryTimer: null });
const isLive = (child: PoolChild | null): child is PoolChild => child?.state === 'idle' || child?.state === 'busy';

/**
 * A fixed number of child processes, each running one task at a time, supervised from this process
 * so that every limit holds even when a task blocks its child's event loop: the soft limit by an IPC
 * message plus a deadline the child can check synchronously, the hard limit, memory and
 * cancellation by signals. Retired children are replaced at once, from a pre-forked spare when there
 * is one, so a queued task waits for at most one fork.
 */
export class ChildPool extends EventEmitter<ChildPoolEvents> {
  private readonly seats: Seat[];
  private readonly spares: Seat[];
  private readonly queue: TaskRun[] = [];
  /** Every run not yet settled, queued or on a child. */
  private readonly runs = new Map<string, TaskRun>();
  /** Runs on a child, including ones whose child is being stopped. */
  private readonly running = new Map<PoolChild, TaskRun>();
  /** Every child not yet exited, seated or retired. */
  private readonly children = new Set<PoolChild>();
  private readonly plan: ForkPlan;
  private readonly logger: PoolLogger | undefined;
  private readonly maxMemoryBytes: number;
  private readonly memorySampleMs: number;
  private readonly childSettings: PoolChildSettings;
  private readonly listener: PoolChildListener = {
    onReady: (child) => this.onChildReady(child),
    onMessage: (child, message) => this.onChildMessage(child, message),
    onStartFailed: (child, error) => this.onChildStartFailed(child, error),
    onExit: (child, code, signal) => this.onChildExit(child, code, signal),
  };
  private started = false;
  private starting: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private closed = false;
  private closing: Promise<{ unfinished: string[] }> | null = null;
  private closeDeadlineAt = Infinity;
  private closeDeadline: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;
  private readonly unfinished: string[] = [];

  constructor(private readonly options: ChildPoolOptions) {
    super();
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`ChildPool size must be a positive integer, got ${options.size}`);
    this.logger = options.logger;
    this.maxMemoryBytes = Math.max(0, options.maxMemoryKiB) * 1024;
    this.memorySampleMs = options.memorySampleMs ?? DEFAULT_MEMORY_SAMPLE_MS;
    this.childSettings = { startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, niceness: options.childNiceness ?? DEFAULT_CHILD_NICENESS };
    this.seats = Array.from({ length: options.size }, (_, i) => newSeat(i));
    this.spares = Array.from({ length: options.spareChildren ?? DEFAULT_SPARE_CHILDREN }, () => newSeat(null));
    this.plan = forkPlan({
      entry: options.childEntry ?? defaultChildEntry(),
      parentPid: process.pid,
      nodePath: process.execPath,
      setpriv: setprivIfAvailable(options.parentDeathSignal ?? true),
      resolveTsLoader: () => require.resolve('@swc-node/register'),
    });
  }

  /**
   * Started and not closed: it takes tasks even while a recycled slot waits for its new child, so
   * readiness and `sluice_worker_up` must not flap with every recycle.
   */
  get serving(): boolean {
    return this.started && this.starting === null && !this.closed;
  }

  /** Every slot has a live child. */
  get ready(): boolean {
    return this.started && !this.closed && this.seats.every((s) => isLive(s.child));
  }

  /** Forks the children; resolves when every slot's child is ready. Rejects (and closes) if one keeps failing to start. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('ChildPool is closed'));
    if (this.started) return Promise.reject(new Error('ChildPool already started'));
    this.started = true;
    const ready = new Promise<void>((resolve, reject) => (this.starting = { resolve, reject }));
    for (const seat of [...this.seats, ...this.spares]) this.fill(seat);
    return ready;
  }

  /** Runs a task on the next free child, first come first served. Never rejects for a task failure: see RunOutcome. */
  run(task: PoolTask, hooks: RunHooks = {}): Promise<RunOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'shutdown', pid: null, durationMs: null });
    if (this.runs.has(task.taskId)) return Promise.reject(new Error(`Task ${task.taskId} is already in the pool`));
    const run = new TaskRun(task, hooks);
    this.runs.set(task.taskId, run);
    this.queue.push(run);
    this.dispatch();
    return run.outcome;
  }

  /**
   * Cancels a task this pool holds: a queued one is dropped, a running one gets SIGTERM, then
   * SIGKILL after the grace period. Resolves once its child has exited; false if the pool does not
   * hold the task.
   */
  async cancel(taskId: string): Promise<boolean> {
    const run = this.runs.get(taskId);
    if (!run) return false;
    const child = run.child;
    if (!child) {
      this.queue.splice(this.queue.indexOf(run), 1);
      this.settle(run, { kind: 'cancelled', pid: null, durationMs: null });
      return true;
    }
    // Signal the child only while it still runs this very task, never the task it moved on to.
    if (this.running.get(child) !== run) return false;
    this.stop(run, 'cancelled');
    await child.exited;
    return true;
  }

  /**
   * Stops taking tasks, lets running ones finish until `deadlineMs`, then SIGKILLs the rest; those,
   * and the queued ones, end as 'shutdown' and are listed as unfinished. Resolves when every child
   * has exited. A later call with an earlier deadline brings the deadline forward.
   */
  close(deadlineMs: number): Promise<{ unfinished: string[] }> {
    if (!this.closing) {
      this.closed = true;
      this.closing = this.shutDown();
    }
    const at = performance.now() + Math.max(0, deadlineMs);
    const drained = this.runs.size === 0 && this.children.size === 0;
    if (!drained && at < this.closeDeadlineAt) {
      this.closeDeadlineAt = at;
      if (this.closeDeadline) clearTimeout(this.closeDeadline);
      this.closeDeadline = setTimeout(() => this.killRemaining(), Math.max(0, deadlineMs));
    }
    return this.closing;
  }

  slots(): SlotInfo[] {
    return this.seats.map((seat) => {
      const child = seat.child;
      const live = isLive(child);
      return {
        slot: seat.slot!,
        pid: live ? child.pid : null,
        busy: child?.state === 'busy',
        taskId: (child && this.running.get(child)?.taskId) ?? null,
        rssBytes: live ? (child.rssBytes() ?? 0) : 0,
        tasksRun: child?.tasksRun ?? 0,
      };
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const child = this.seats.map((s) => s.child).find((c) => c?.state === 'idle' && c.connected);
      if (!child) return;
      this.handOver(this.queue.shift()!, child);
    }
  }

  private handOver(run: TaskRun, child: PoolChild): void {
    const { task } = run;
    child.state = 'busy';
    run.handOver(child);
    this.running.set(child, run);
    // Limits count from here, before send(): serialising a large payload takes a while, and that is task time too.
    const softDeadline = isUsableLimit(task.softLimitMs) ? Date.now() + task.softLimitMs : null;
    run.after(task.softLimitMs, () => this.onSoftLimit(run, child));
    run.after(task.hardLimitMs, () => {
      this.notify('hardLimit', { taskId: task.taskId, pid: child.pid });
      this.stop(run, 'time_limit');
    });
    if (this.maxMemoryBytes > 0) run.every(this.memorySampleMs, () => this.sampleMemory(run, child));
    child.send({ type: 'run', task: { taskId: task.taskId, taskName: task.taskName, payload: task.payload, attempt: task.attempt, softDeadline } });
    this.callHook(run, () => run.hooks.onNews?.({ kind: 'started', pid: child.pid }));
  }

  private onSoftLimit(run: TaskRun, child: PoolChild): void {
    if (run.stopReason) return;
    child.send({ type: 'soft_limit', taskId: run.taskId });
    this.callHook(run, () => run.hooks.onNews?.({ kind: 'soft_limit' }));
    this.notify('softLimit', { taskId: run.taskId, pid: child.pid });
  }

  private sampleMemory(run: TaskRun, child: PoolChild): void {
    if (run.stopReason) return;
    const rss = child.rssBytes();
    if (rss === null || rss <= this.maxMemoryBytes) return;
    run.rssAtStop = rss;
    this.stop(run, 'memory_limit');
  }

  /** Ends a run by signalling its child, which is replaced at once; the outcome follows its exit. */
  private stop(run: TaskRun, reason: StopReason): void {
    const child = run.child!;
    if (run.stopReason) {
      // A cancel still in its grace period: a limit or the shutdown deadline cuts it short.
      if (reason !== 'cancelled') this.kill(run, child);
      return;
    }
    run.stopReason = reason;
    // Signal before anything else: the hard limit's precision is measured up to this kill.
    if (reason === 'cancelled') child.terminate(this.options.cancelGraceMs);
    else this.kill(run, child);
    this.retire(child, RECYCLE_REASON[reason]);
    this.dispatch();
  }

  /** The run's duration ends at the SIGKILL: the kernel may take a few more ms to tear the child down. */
  private kill(run: TaskRun, child: PoolChild): void {
    child.kill();
    run.markEnded();
  }

  private onChildMessage(child: PoolChild, message: TaskMessage): void {
    const run = this.running.get(child);
    if (message.type === 'log') return this.logChild(child, message);
    if (!run || run.stopReason || message.taskId !== run.taskId) return;
    if (message.type === 'progress') return this.callHook(run, () => run.hooks.onNews?.({ kind: 'progress', pct: message.pct, message: message.message }));
    if (message.type !== 'result' && message.type !== 'error') return;
    this.running.delete(child);
    child.tasksRun++;
    const durationMs = run.elapsedMs();
    this.release(child, message.maxRssKiB);
    this.settle(
      run,
      message.type === 'result'
        ? { kind: 'completed', result: message.result, pid: child.pid, durationMs }
        : { kind: 'failed', error: message.error, retryable: message.retryable, pid: child.pid, durationMs },
    );
    this.dispatch();
  }

  /**
   * After a task: back to idle, or replaced when it ran its quota of tasks or grew too large
   * (Celery's semantics, peak RSS included: a child past the limit at any moment of the task is
   * replaced after it). The peak comes with the child's answer; procfs is read only when it did not.
   */
  private release(child: PoolChild, maxRssKiB?: number): void {
    const { maxTasksPerChild } = this.options;
    let reason: RecycleReason | null = null;
    if (maxTasksPerChild > 0 && child.tasksRun >= maxTasksPerChild) reason = 'max_tasks';
    else if (this.maxMemoryBytes > 0 && this.peakBytes(child, maxRssKiB) > this.maxMemoryBytes) reason = 'max_memory';
    if (!reason && !this.closed) {
      child.state = 'idle';
      return;
    }
    child.terminate(this.options.cancelGraceMs);
    this.retire(child, reason);
  }

  private peakBytes(child: PoolChild, maxRssKiB: number | undefined): number {
    return typeof maxRssKiB === 'number' && Number.isFinite(maxRssKiB) ? maxRssKiB * 1024 : (child.rssBytes() ?? 0);
  }

  /** Takes a child out of its seat and fills the seat at once; the caller signals the child. */
  private retire(child: PoolChild, reason: RecycleReason | null): void {
    child.state = 'stopping';
    const seat = this.seatOf(child);
    if (!seat) return;
    if (reason && seat.slot !== null && !this.closed) this.recycled(child, seat.slot, reason);
    this.replace(seat);
  }

  private recycled(child: PoolChild, slot: number, reason: RecycleReason): void {
    this.logger?.log(logEvent('Worker child recycled', { pid: child.pid, slot: slot, reason: reason }));
    this.notify('recycled', { pid: child.pid, slot, reason });
  }

  /**
   * Gives a seat a new child: a spare if there is one (ready ones first), else a fresh fork. Forks
   * wait for the next turn of the loop because fork() blocks for a few milliseconds, which would
   * otherwise delay the outcome being delivered.
   */
  private replace(seat: Seat): void {
    seat.child = null;
    if (this.closed) return;
    const spare = seat.slot === null ? undefined : (this.spares.find((s) => s.child?.state === 'idle') ?? this.spares.find((s) => s.child?.state === 'starting'));
    if (spare) {
      seat.child = spare.child;
      spare.child = null;
    }
    setImmediate(() => this.fill(spare ?? seat));
  }

  private fill(seat: Seat): void {
    if (this.closed || seat.child || seat.retryTimer) return;
    try {
      seat.child = new PoolChild(this.plan, this.childSettings, this.listener);
      this.children.add(seat.child);
    } catch (err) {
      this.onSeatStartFailed(seat, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onChildReady(child: PoolChild): void {
    const seat = this.seatOf(child);
    if (!seat) return child.kill();
    seat.startFailures = 0;
    this.logger?.debug?.(`Worker child ready pid=${child.pid} slot=${seat.slot ?? 'spare'} startup_ms=${child.startupMs.toFixed(0)}`);
    this.notify('childReady', { pid: child.pid, startupMs: child.startupMs });
    if (this.starting && this.seats.every((s) => isLive(s.child))) {
      this.starting.resolve();
      this.starting = null;
    }
    this.dispatch();
  }

  private onChildStartFailed(child: PoolChild, error: Error): void {
    const seat = this.seatOf(child);
    if (!seat) return;
    seat.child = null;
    this.onSeatStartFailed(seat, error);
  }

  /** The failed child is never reused; its seat is filled again after a backoff. */
  private onSeatStartFailed(seat: Seat, error: Error): void {
    seat.startFailures++;
    const retryInMs = startRetryDelayMs(seat.startFailures);
    this.logger?.error(logEvent('Worker child failed to start', { slot: seat.slot ?? 'spare', failures: seat.startFailures, retry_in_ms: retryInMs, error: error.message }));
    this.notify('childStartFailed', { slot: seat.slot, error, failures: seat.startFailures, retryInMs });
    if (this.starting && seat.startFailures >= START_ATTEMPTS) {
      this.starting.reject(error);
      this.starting = null;
      void this.close(0);
      return;
    }
    seat.retryTimer = setTimeout(() => {
      seat.retryTimer = null;
      if (seat.slot === null) this.fill(seat);
      else this.replace(seat);
    }, retryInMs);
  }

  private onChildExit(child: PoolChild, exitCode: number | null, signal: NodeJS.Signals | null): void {
    this.children.delete(child);
    const run = this.running.get(child);
    if (run) {
      this.running.delete(child);
      const facts = { stopReason: run.stopReason, pid: child.pid, durationMs: run.elapsedMs(), exitCode, signal, rssBytes: run.rssAtStop };
      this.settle(run, exitOutcome(facts));
    }
    // Still seated: it died on its own, busy or idle.
    const seat = this.seatOf(child);
    if (seat) {
      this.logger?.warn(logEvent('Worker child exited unexpectedly', { pid: child.pid, slot: seat.slot ?? 'spare', code: exitCode, signal: signal }));
      if (seat.slot !== null && !this.closed) this.recycled(child, seat.slot, 'crashed');
      this.replace(seat);
    }
    this.dispatch();
    this.checkDrained();
  }

  private settle(run: TaskRun, outcome: RunOutcome): void {
    if (!run.settle(outcome)) return;
    this.runs.delete(run.taskId);
    this.checkDrained();
  }

  private async shutDown(): Promise<{ unfinished: string[] }> {
    this.starting?.reject(new Error('ChildPool closed while starting'));
    this.starting = null;
    for (const seat of [...this.seats, ...this.spares]) {
      if (seat.retryTimer) clearTimeout(seat.retryTimer);
      seat.retryTimer = null;
      const child = seat.child;
      // Busy children keep their seat (and their task) until it finishes or the deadline passes.
      if (child?.state === 'busy') continue;
      seat.child = null;
      if (child) {
        child.state = 'stopping';
        child.terminate(this.options.cancelGraceMs);
      }
    }
    for (const run of this.queue.splice(0)) {
      this.unfinished.push(run.taskId);
      this.settle(run, { kind: 'shutdown', pid: null, durationMs: null });
    }
    const drained = new Promise<void>((resolve) => (this.drained = resolve));
    this.checkDrained();
    await drained;
    if (this.closeDeadline) clearTimeout(this.closeDeadline);
    return { unfinished: [...this.unfinished] };
  }

  /** The close deadline: whatever still runs is killed and reported unfinished. */
  private killRemaining(): void {
    for (const run of [...this.running.values()]) {
      if (!run.stopReason) this.unfinished.push(run.taskId);
      this.stop(run, 'shutdown');
    }
    for (const child of this.children) child.kill();
  }

  private checkDrained(): void {
    if (this.drained && this.runs.size === 0 && this.children.size === 0) {
      this.drained();
      this.drained = null;
    }
  }

  private seatOf(child: PoolChild): Seat | undefined {
    return this.seats.find((s) => s.child === child) ?? this.spares.find((s) => s.child === child);
  }

  private logChild(child: PoolChild, message: Extract<TaskMessage, { type: 'log' }>): void {
    this.logger?.[message.level](logEvent(message.message, { task_id: message.taskId, pid: child.pid, ...message.fields }));
  }

  /** A throwing hook or listener belongs to the caller; it must not leave the pool half-updated. */
  private callHook(run: TaskRun, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger?.error(logEvent('Run hook failed', { task_id: run.taskId, error: (err as Error).message }));
    }
  }

  private notify<K extends keyof ChildPoolEvents>(event: K, ...args: ChildPoolEvents[K]): void {
    try {
      // The generic emit cannot check a spread of a generic tuple; the signature above does.
      (this as EventEmitter).emit(event, ...args);
    } catch (err) {
      this.logger?.error(logEvent('Pool listener failed', { event: event, error: (err as Error).message }));
    }
  }
}
