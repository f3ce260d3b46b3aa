/**
 * FAULT INJECTED: a worker process frozen with SIGSTOP (a GC pause, a stalled VM) for longer than
 * its 1 s lock (WORKER_LOCK_DURATION=1, WORKER_STALLED_INTERVAL=0.5) while it runs three 3 s
 * `diagnostic.sleep` tasks, then resumed with SIGCONT. Meanwhile a second, healthy worker process
 * takes the tasks over. The frozen worker's children keep running and finish their sleep, so on
 * resume the stale runs try to finish: Redis must refuse them (fenced by the lock token).
 *
 * Asserted per task: completed exactly once, with the result of the run that owns it; counters
 * (JSON and Prometheus summed over both workers) moved once; the frozen worker logs one
 * `Task run superseded task_id=<id>` line per task and never `Task completed task_id=<id>`.
 */
import { TaskView } from '../support/stack';
import { Stack } from '../support/stack';
import { FAST_RECOVERY_POLICY, WorkerProcess, childrenOf, freeze, jsonMetrics, linesWith, parkedWorker, promSum, spawnWorker, thaw, waitReady, workerEnvFor } from '../support/faults';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

const TASKS = 3;
const TASK_SECONDS = 3;
/** The freeze lasts at least this long, and until the healthy worker runs every task again. */
const MIN_FREEZE_MS = 3500;

const POLICY = FAST_RECOVERY_POLICY;

describe('a worker frozen past its lock while it runs tasks', () => {
  let s: Stack;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    s = await Stack.start(POLICY, { worker: false });
  });
  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.kill()));
    await s.stop();
  });

  it('each task completes once, with the owning run\'s result; the stale runs are refused and counted nowhere', async () => {
    const env = workerEnvFor(s, { ...POLICY, WORKER_CONCURRENCY: String(TASKS) });
    // The healthy worker boots first, and is parked (frozen while idle: it holds nothing) while the
    // tasks are submitted and the other worker starts, so that the worker to freeze takes all three.
    const healthy = await parkedWorker(env, workers);
    let frozen: WorkerProcess;
    const ids: string[] = [];
    try {
      for (let i = 0; i < TASKS; i++) ids.push(await s.submit('diagnostic.sleep', { seconds: TASK_SECONDS }));
      frozen = await spawnWorker(env);
      workers.push(frozen);
      await waitReady(frozen);
      for (const id of ids) await s.until(id, 'processing', 10_000);
    } finally {
      thaw(healthy.pid);
    }
    for (const id of ids) expect(linesWith(frozen.output(), `Task started task_id=${id}`)).toHaveLength(1);
    const frozenKids = childrenOf(frozen.pid);
    expect(frozenKids.length).toBeGreaterThanOrEqual(TASKS);

    // Freeze the worker that runs them. Its children keep running and finish their sleep.
    const frozenAt = Date.now();
    freeze(frozen.pid);
    let frozenMs: number;
    try {
      // The healthy worker's stalled check finds the expired locks, accounts for the lost runs
      // (attempt 1) and runs every task again (attempt 2). Thaw only then, and after the frozen
      // runs' sleep has ended.
      await waitFor(
        'the healthy worker to run every task again',
        async () => {
          const views = await Promise.all(ids.map((id) => s.get(id)));
          return Date.now() - frozenAt >= MIN_FREEZE_MS && views.every((t) => t.status === 'processing' && t.attempts === 2);
        },
        20_000,
        50,
      );
    } finally {
      frozenMs = Date.now() - frozenAt;
      thaw(frozen.pid);
    }
    expect(frozenMs).toBeGreaterThanOrEqual(MIN_FREEZE_MS);

    // The frozen worker wakes up, its runs' finishes are refused: one superseded line per task.
    await waitFor(
      'the frozen worker to log its superseded runs',
      () => ids.every((id) => linesWith(frozen.output(), `Task run superseded task_id=${id}`).length > 0),
      10_000,
      50,
    );

    const done: TaskView[] = [];
    for (const id of ids) done.push(await s.until(id, 'completed', 15_000));
    // The healthy worker's run owns each result: its child's pid, not the frozen worker's.
    const healthyKids = childrenOf(healthy.pid);
    for (const t of done) {
      expect(t.attempts).toBe(2);
      expect(t.result).toMatchObject({ soft_limit_hit: false });
      expect(frozenKids).not.toContain((t.result as { pid: number }).pid);
      expect(healthyKids).toContain((t.result as { pid: number }).pid);
      expect(t.result!.slept_seconds as number).toBeGreaterThanOrEqual(TASK_SECONDS - 0.1);
    }

    // Give a stale run every chance to write late: the frozen worker's lock renewal and its
    // children's results have been handled once it answers its probe and has logged all three.
    await waitFor('the frozen worker to answer again', async () => (await frozen.get('/health/live')).status === 200, 5000, 50);

    // A task is completed in Redis before its worker logs the line, and the line crosses a pipe.
    await waitFor('the healthy worker to log each completion', () => ids.every((id) => linesWith(healthy.output(), `Task completed task_id=${id}`).length > 0) || undefined, 5000, 20);
    const frozenOut = frozen.output();
    const healthyOut = healthy.output();
    for (const id of ids) {
      expect({ id, superseded: linesWith(frozenOut, `Task run superseded task_id=${id}`).length }).toEqual({ id, superseded: 1 });
      expect({ id, completedByFrozen: linesWith(frozenOut, `Task completed task_id=${id}`).length }).toEqual({ id, completedByFrozen: 0 });
      expect({ id, completedByHealthy: linesWith(healthyOut, `Task completed task_id=${id}`).length }).toEqual({ id, completedByHealthy: 1 });
      // The task is not rewritten by the stale run after the fact.
      const again = await s.get(id);
      expect(again.status).toBe('completed');
      expect(again.result).toEqual(done[ids.indexOf(id)].result);
      expect(again.finished_at).toBe(done[ids.indexOf(id)].finished_at);
    }

    // Counters moved once per task: each lost run is one retry, each task one completion.
    const m = await jsonMetrics(s);
    expect(m).toMatchObject({ total_tasks: TASKS, completed_tasks: TASKS, retried_tasks: TASKS, failed_tasks: 0, cancelled_tasks: 0, currently_running: 0 });
    const [a, b] = await Promise.all([frozen.metrics(), healthy.metrics()]);
    const labels = { task_name: 'diagnostic.sleep' };
    const sum = (name: string) => promSum(a, name, labels) + promSum(b, name, labels);
    expect({
      succeeded: sum('sluice_task_succeeded_total'),
      succeededByFrozen: promSum(a, 'sluice_task_succeeded_total', labels),
      retried: sum('sluice_task_retried_total'),
      failed: sum('sluice_task_failed_total'),
      runtimeCount: sum('sluice_task_runtime_seconds_count'),
    }).toEqual({ succeeded: TASKS, succeededByFrozen: 0, retried: TASKS, failed: 0, runtimeCount: TASKS });
    console.log(`frozen-worker: frozen ${frozenMs} ms`);
  });
});
