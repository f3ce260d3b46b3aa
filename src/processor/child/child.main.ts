/**
 * Entry of a pool child process: runs one task at a time for the parent that forked it. The parent
 * enforces every limit from outside; this side only aborts the signal at the soft limit and reports.
 */
import { NonRetryableTaskError, SoftTimeLimitExceeded } from '../../tasks/task.errors';
import type { LogFields, TaskContext, TaskHandler, TaskLogger } from '../../task-types/handler.types';
import type { ChildLogLevel, ChildMessage, ChildTask, ParentMessage } from './ipc.types';
import { startParentWatchdog } from './parent-watchdog';
import { PDEATHSIG_ARG } from '../pool/fork-plan.util';
import { taskHandlers } from './task-handlers';

/** Progress updates closer together than this are dropped: a tight loop may report every step. */
export const PROGRESS_MIN_INTERVAL_MS = 100;

interface CurrentTask {
  taskId: string;
  controller: AbortController;
}

function send(message: ChildMessage): void {
  // After the parent is gone the watchdog or 'disconnect' ends this process; nothing to report to.
  if (process.connected) process.send!(message);
}

function taskLogger(taskId: string): TaskLogger {
  const write = (level: ChildLogLevel) => (message: string, fields?: LogFields) => send({ type: 'log', taskId, level, message, fields });
  return { log: write('log'), warn: write('warn'), error: write('error') };
}

function progressReporter(taskId: string): (pct: number, message?: string) => void {
  let lastSentAt = -Infinity;
  return (pct, message) => {
    const now = performance.now();
    const done = pct >= 100;
    if (!done && now - lastSentAt < PROGRESS_MIN_INTERVAL_MS) return;
    lastSentAt = now;
    send({ type: 'progress', taskId, pct: Math.max(0, Math.min(100, pct)), message });
  };
}

function createContext(task: ChildTask, controller: AbortController): TaskContext {
  const { softDeadline } = task;
  return {
    taskId: task.taskId,
    attempt: task.attempt,
    signal: controller.signal,
    // The clock, not the signal: the signal only aborts when the event loop gets a turn.
    softLimitHit: () => controller.signal.aborted || (softDeadline !== null && Date.now() >= softDeadline),
    progress: progressReporter(task.taskId),
    logger: taskLogger(task.taskId),
  };
}

function errorInfo(err: unknown): { type: string; message: string } {
  return err instanceof Error ? { type: err.name, message: err.message } : { type: 'Error', message: String(err) };
}

type EndMessage = Extract<ChildMessage, { type: 'result' | 'error' }>;

/**
 * A task's end, with the child's peak RSS: one getrusage call, about 1 µs, where the parent's read
 * of /proc/<pid>/status after every task cost it far more.
 */
function sendEnd(message: EndMessage): void {
  send({ ...message, maxRssKiB: process.resourceUsage().maxRSS });
}

function reportResult(taskId: string, result: unknown): void {
  try {
    sendEnd({ type: 'result', taskId, result: result ?? null });
  } catch (err) {
    // JSON.stringify threw (a BigInt, a cycle): a bug in the handler that a retry would repeat.
    const { type, message } = errorInfo(err);
    sendEnd({ type: 'error', taskId, error: { type, message: `Task result is not JSON-serialisable: ${message}` }, retryable: false });
  }
}

async function runTask(handlers: Record<string, TaskHandler>, task: ChildTask, current: CurrentTask): Promise<void> {
  try {
    const handler = handlers[task.taskName];
    if (!handler) throw new NonRetryableTaskError(`No handler for task_name '${task.taskName}'`);
    reportResult(task.taskId, await handler.run(task.payload, createContext(task, current.controller)));
  } catch (err) {
    sendEnd({ type: 'error', taskId: task.taskId, error: errorInfo(err), retryable: !(err instanceof NonRetryableTaskError) });
  }
}

/** Serves tasks over IPC until the parent goes away. Exported so test fixtures can add handlers. */
export function runChild(handlers: Record<string, TaskHandler>): void {
  // The parent passes its pid: by the time this runs it may already be gone and ppid be 1.
  const parentPid = Number(process.argv[2]) || process.ppid;
  // Under setpriv --pdeathsig the kernel kills this process with its parent, whatever its event
  // loop does; a watchdog thread (a second V8 isolate, a large part of a child's start-up CPU) is
  // only needed without it.
  if (process.argv[3] !== PDEATHSIG_ARG) {
    const watchdog = startParentWatchdog(parentPid);
    // Without its watchdog a child could outlive its parent: better not to run at all.
    watchdog.on('error', (err) => {
      process.stderr.write(`Parent watchdog failed pid=${process.pid} error=${err.message}\n`);
      process.exit(1);
    });
  }
  // The idle case, where the event loop is free: exit as soon as the channel closes.
  process.on('disconnect', () => process.exit(0));

  let current: CurrentTask | null = null;
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'run') {
      const task = message.task;
      current = { taskId: task.taskId, controller: new AbortController() };
      const running = current;
      void runTask(handlers, task, running).finally(() => {
        if (current === running) current = null;
      });
    } else if (message.type === 'soft_limit' && current?.taskId === message.taskId) {
      current.controller.abort(new SoftTimeLimitExceeded('Soft time limit exceeded'));
    }
  });
  send({ type: 'ready', pid: process.pid });
}

if (require.main === module) runChild(taskHandlers());
