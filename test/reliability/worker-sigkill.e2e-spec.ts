/**
 * FAULT INJECTED: a whole worker process SIGKILLed mid-task (an OOM kill, a node lost) while a
 * second worker process is up. Short lock (WORKER_LOCK_DURATION=1, WORKER_STALLED_INTERVAL=0.5).
 *
 * test/worker/shutdown.e2e-spec.ts ("after SIGKILL of a whole worker…") already covers that the
 * killed worker's children die and that a worker started afterwards retries the task with backoff.
 * This suite adds what that one does not check: with the other worker already running, each task
 * completes exactly once, with that worker's result, and every counter (JSON in Redis, Prometheus
 * on the surviving worker) moves once: one lost run accounted as one retry, one completion.
 */
import { TaskView } from '../support/stack';
import { Stack, pidAlive } from '../support/stack';
import { FAST_RECOVERY_POLICY, WorkerProcess, childrenOf, jsonMetrics, linesWith, parkedWorker, promSum, spawnWorker, thaw, waitReady, workerEnvFor } from '../support/faults';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

const TASKS = 2;
const POLICY = FAST_RECOVERY_POLICY;

describe('a worker SIGKILLed mid-task while another worker runs', () => {
  let s: Stack;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    s = await Stack.start(POLICY, { worker: false });
  });
  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.kill()));
    await s.stop();
  });

  it('the surviving worker retries each task, which completes once and is counted once', async () => {
    const env = workerEnvFor(s, { ...POLICY, WORKER_CONCURRENCY: String(TASKS) });
    // The survivor boots first and is parked (frozen while idle) until the victim holds the tasks.
    const survivor = await parkedWorker(env, workers);
    let victim: WorkerProcess;
    const ids: string[] = [];
    try {
      for (let i = 0; i < TASKS; i++) ids.push(await s.submit('diagnostic.sleep', { seconds: 2 }));
      victim = await spawnWorker(env);
      workers.push(victim);
      await waitReady(victim);
      for (const id of ids) await s.until(id, 'processing', 10_000);
    } finally {
      thaw(survivor.pid);
    }
    for (const id of ids) expect(linesWith(victim.output(), `Task started task_id=${id}`)).toHaveLength(1);
    const victimKids = childrenOf(victim.pid);
    expect(victimKids.length).toBeGreaterThanOrEqual(TASKS);

    victim.child.kill('SIGKILL');
    await victim.exited;
    await waitFor('the killed worker\'s children to die', () => victimKids.every((pid) => !pidAlive(pid)), 3000, 50);

    const done: TaskView[] = [];
    for (const id of ids) done.push(await s.until(id, 'completed', 20_000));
    const survivorKids = childrenOf(survivor.pid);
    for (const t of done) {
      expect(t.attempts).toBe(2);
      expect(survivorKids).toContain((t.result as { pid: number }).pid);
    }

    // The task is completed in Redis before its worker logs the line, and the line crosses a pipe.
    await waitFor('the survivor to log each completion', () => ids.every((id) => linesWith(survivor.output(), `Task completed task_id=${id}`).length > 0) || undefined, 5000, 20);
    const out = survivor.output();
    for (const id of ids) {
      expect({ id, completed: linesWith(out, `Task completed task_id=${id}`).length }).toEqual({ id, completed: 1 });
      expect({ id, retries: linesWith(out, `Task retry scheduled task_id=${id} reason=WorkerLostError`).length }).toEqual({ id, retries: 1 });
    }

    const m = await jsonMetrics(s);
    expect(m).toMatchObject({ total_tasks: TASKS, completed_tasks: TASKS, retried_tasks: TASKS, failed_tasks: 0, cancelled_tasks: 0, currently_running: 0 });
    const text = await survivor.metrics();
    const labels = { task_name: 'diagnostic.sleep' };
    expect({
      succeeded: promSum(text, 'sluice_task_succeeded_total', labels),
      started: promSum(text, 'sluice_task_started_total', labels),
      retried: promSum(text, 'sluice_task_retried_total', labels),
      failed: promSum(text, 'sluice_task_failed_total', labels),
    }).toEqual({ succeeded: TASKS, started: TASKS, retried: TASKS, failed: 0 });
  });
});
