import { Worker } from 'node:worker_threads';

/** A dead parent is noticed within this long, even while the main thread spins. */
export const WATCHDOG_INTERVAL_MS = 100;

export interface WatchdogData {
  parentPid: number;
  intervalMs: number;
}

/**
 * The watchdog thread's script. When a process dies its children are re-parented at once (to init
 * or a subreaper), so a changed ppid is a definitive and cheap test; `kill(parent, 0)` is not, since
 * it succeeds on a zombie. It is evaluated rather than loaded from a file so that it needs no
 * TypeScript loader under Jest and starts in a few milliseconds.
 */
export const WATCHDOG_SCRIPT = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.parentPid) process.kill(process.pid, 'SIGKILL');
}, workerData.intervalMs);
`;

/**
 * Kills this process when `parentPid` dies. A 'disconnect' handler cannot do this while a task
 * blocks the event loop; a thread can, because it has a loop of its own.
 */
export function startParentWatchdog(parentPid: number, intervalMs = WATCHDOG_INTERVAL_MS): Worker {
  const data: WatchdogData = { parentPid, intervalMs };
  // execArgv: [] keeps the parent's TypeScript loader (--require) out of the thread: 200+ ms saved.
  const worker = new Worker(WATCHDOG_SCRIPT, { eval: true, workerData: data, execArgv: [] });
  // The thread must not keep an idle child alive on its own.
  worker.unref();
  return worker;
}
