import { SingleBar } from 'cli-progress';
import { ClientOptions, Task, createSluiceClient, taskEvents, unwrap } from '../client/client';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Follows a task's event stream until it is final. On a terminal, a cli-progress bar shows its
 * progress and status; otherwise (a pipe, or --json) one line per event goes to stderr, so stdout
 * carries only the final task.
 */
export async function watchTask(options: ClientOptions, taskId: string, opts: { json?: boolean } = {}): Promise<Task> {
  const tty = process.stderr.isTTY === true && !opts.json;
  const bar = tty ? new SingleBar({ format: ' {bar} {percentage}% | {status}', hideCursor: true, clearOnComplete: false, stream: process.stderr }) : undefined;
  let last: Task | undefined;
  try {
    bar?.start(100, 0, { status: 'connecting' });
    for await (const { task } of taskEvents(options, taskId)) {
      last = task;
      if (bar) bar.update(task.progress, { status: task.status });
      else process.stderr.write(`${task.status} ${task.progress}%\n`);
      if (FINAL.has(task.status)) break;
    }
  } finally {
    bar?.stop();
  }
  // A stream that ended without a final state, or answered 204 (already final): ask once.
  if (!last || !FINAL.has(last.status)) {
    last = await unwrap<Task>(createSluiceClient(options).GET('/api/v1/tasks/{task_id}', { params: { path: { task_id: taskId }, query: {} } }));
  }
  return last;
}
