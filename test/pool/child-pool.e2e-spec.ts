import { getPriority } from 'node:os';
import type { ChildPool } from '../../src/processor/pool/child-pool';
import type { RunOutcome } from '../../src/processor/pool/pool.types';
import { waitFor } from '../support/wait';
import { busyFor, collect, newPool, processGone, task } from './pool-test.helpers';

jest.setTimeout(30_000);

const CANCEL_GRACE_MS = 300;
// A replacement child starts at niceness 10: beside Jest's other workers at 0 on a CI machine's two
// cores it gets about a tenth of a core, and its start (the swc loader included) once took over 5 s.
const REFILL_MS = 15_000;

describe('ChildPool with the real child entry', () => {
  let pool: ChildPool;

  beforeAll(async () => {
    pool = newPool({ size: 2, cancelGraceMs: CANCEL_GRACE_MS });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  const fullAndFresh = (oldPid: number) => pool.ready && pool.slots().every((s) => s.pid !== null && s.pid !== oldPid);

  it('starts one live child per slot', () => {
    expect(pool.ready).toBe(true);
    const slots = pool.slots();
    expect(slots.map((s) => s.slot)).toEqual([0, 1]);
    for (const s of slots) {
      expect(s).toMatchObject({ busy: false, taskId: null, tasksRun: 0, pid: expect.any(Number) });
      expect(s.pid).not.toBe(process.pid);
      expect(s.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      // Niced, so that busy children cannot starve the timers that enforce their limits.
      expect(getPriority(s.pid!)).toBe(10);
    }
  });

  it('runs a task in a child and returns its result with the pid', async () => {
    const started: number[] = [];
    const outcome = await pool.run(task('diagnostic.sleep', { seconds: 0.05 }), { onNews: (n) => n.kind === 'started' && started.push(n.pid) });
    expect(outcome).toMatchObject({ kind: 'completed', result: { soft_limit_hit: false, slept_seconds: expect.any(Number) } });
    const { result, pid, durationMs } = outcome as Extract<RunOutcome, { kind: 'completed' }>;
    expect((result as { pid: number }).pid).toBe(pid);
    expect(started).toEqual([pid]);
    expect(durationMs).toBeGreaterThanOrEqual(45);
  });

  it('hands tasks to free children first come, first served, one at a time per child', async () => {
    const order: string[] = [];
    const tasks = [0, 1, 2, 3].map(() => task('diagnostic.sleep', { seconds: 0.15 }));
    const outcomes = await Promise.all(tasks.map((t) => pool.run(t, { onNews: (n) => n.kind === 'started' && order.push(t.taskId) })));
    expect(order).toEqual(tasks.map((t) => t.taskId));
    const pids = outcomes.map((o) => (o.kind === 'completed' ? o.pid : null));
    // Two children, two rounds: each child ran one of the first two and one of the last two.
    expect(new Set(pids.slice(0, 2)).size).toBe(2);
    expect(new Set(pids.slice(2)).size).toBe(2);
  });

  it('reports a thrown error by name and message, retryable', async () => {
    const outcome = await pool.run(task('diagnostic.fail', { message: 'boom' }));
    expect(outcome).toMatchObject({ kind: 'failed', error: { type: 'Error', message: 'boom' }, retryable: true, pid: expect.any(Number) });
  });

  it('fails an unknown task name with NonRetryableTaskError, not retryable', async () => {
    const outcome = await pool.run(task('no.such.task', {}));
    expect(outcome).toMatchObject({ kind: 'failed', error: { type: 'NonRetryableTaskError' }, retryable: false });
  });

  it('aborts the signal at the soft limit: the sleep handler returns early', async () => {
    const soft = collect(pool, 'softLimit');
    const t = task('diagnostic.sleep', { seconds: 10 }, { softLimitMs: 300, hardLimitMs: 3_000 });
    const outcome = await pool.run(t);
    expect(outcome).toMatchObject({ kind: 'completed', result: { soft_limit_hit: true } });
    const { durationMs } = outcome as Extract<RunOutcome, { kind: 'completed' }>;
    expect(durationMs).toBeGreaterThanOrEqual(295);
    expect(durationMs).toBeLessThan(1_500);
    expect(soft).toEqual([{ taskId: t.taskId, pid: expect.any(Number) }]);
  });

  it('SIGKILLs a busy loop that ignores signals at the hard limit, precisely, and replaces the child', async () => {
    const hard = collect(pool, 'hardLimit');
    const recycled = collect(pool, 'recycled');
    const t = task('diagnostic.cpu', { seconds: 30 }, { softLimitMs: 100, hardLimitMs: 600 });
    const outcome = await pool.run(t);
    expect(outcome).toMatchObject({ kind: 'time_limit', pid: expect.any(Number) });
    const { pid, durationMs } = outcome as Extract<RunOutcome, { kind: 'time_limit' }>;
    // durationMs ends at the SIGKILL: this is the kill's lateness.
    expect(durationMs - 600).toBeGreaterThanOrEqual(-1);
    expect(durationMs - 600).toBeLessThan(100);
    expect(hard).toEqual([{ taskId: t.taskId, pid }]);
    expect(recycled).toEqual([{ pid, slot: expect.any(Number), reason: 'time_limit' }]);
    expect(processGone(pid)).toBe(true);
    await waitFor('the slot refilled with a new child', () => fullAndFresh(pid), REFILL_MS);
  });

  it('cancels a queued task: it never starts', async () => {
    const started: string[] = [];
    const busy = [task('diagnostic.sleep', { seconds: 5 }), task('diagnostic.sleep', { seconds: 5 })];
    const busyRuns = busy.map((t) => pool.run(t));
    const queued = task('diagnostic.sleep', { seconds: 0 });
    const queuedRun = pool.run(queued, { onNews: (n) => n.kind === 'started' && started.push(queued.taskId) });
    expect(pool.slots().every((s) => s.busy)).toBe(true);

    await expect(pool.cancel(queued.taskId)).resolves.toBe(true);
    await expect(queuedRun).resolves.toEqual({ kind: 'cancelled', pid: null, durationMs: null });

    // The sleep handler does not ignore SIGTERM, so these end well within the grace period.
    const cancelledAt = performance.now();
    await expect(Promise.all(busy.map((t) => pool.cancel(t.taskId)))).resolves.toEqual([true, true]);
    expect(performance.now() - cancelledAt).toBeLessThan(CANCEL_GRACE_MS);
    for (const o of await Promise.all(busyRuns)) expect(o).toMatchObject({ kind: 'cancelled', pid: expect.any(Number) });
    expect(started).toEqual([]);
    await waitFor('the pool back at full size', () => pool.ready, REFILL_MS);
  });

  it('cancels a running busy loop that ignores SIGTERM: SIGKILL after the grace, resolved once the child is gone', async () => {
    const recycled = collect(pool, 'recycled');
    const t = task('diagnostic.cpu', { seconds: 30 });
    let pid = 0;
    const run = pool.run(t, { onNews: (n) => n.kind === 'started' && (pid = n.pid) });
    await waitFor('the task to start', () => pid, 5_000);
    await busyFor(pid, 50);

    const cancelledAt = performance.now();
    await expect(pool.cancel(t.taskId)).resolves.toBe(true);
    const latency = performance.now() - cancelledAt;
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(latency).toBeGreaterThanOrEqual(CANCEL_GRACE_MS - 5);
    expect(latency).toBeLessThan(CANCEL_GRACE_MS + 500);
    await expect(run).resolves.toMatchObject({ kind: 'cancelled', pid });
    expect(recycled).toEqual([{ pid, slot: expect.any(Number), reason: 'cancelled' }]);
    await waitFor('the slot refilled with a new child', () => fullAndFresh(pid), REFILL_MS);
  });

  it('answers false to cancelling a task it does not hold, or no longer holds', async () => {
    await expect(pool.cancel('never-seen')).resolves.toBe(false);
    const t = task('diagnostic.sleep', { seconds: 0 });
    await pool.run(t);
    await expect(pool.cancel(t.taskId)).resolves.toBe(false);
  });

  it('reports a child that exits mid-task as crashed and refills the pool', async () => {
    const recycled = collect(pool, 'recycled');
    const outcome = await pool.run(task('diagnostic.crash', {}));
    expect(outcome).toMatchObject({ kind: 'crashed', exitCode: 70, signal: null, pid: expect.any(Number) });
    const { pid } = outcome as Extract<RunOutcome, { kind: 'crashed' }>;
    expect(recycled).toEqual([{ pid, slot: expect.any(Number), reason: 'crashed' }]);
    await waitFor('the pool back at full size', () => fullAndFresh(pid), REFILL_MS);
  });

  it('refuses a second run with a task id already in the pool', async () => {
    const t = task('diagnostic.sleep', { seconds: 0.2 });
    const first = pool.run(t);
    await expect(pool.run(t)).rejects.toThrow(/already in the pool/);
    await expect(first).resolves.toMatchObject({ kind: 'completed' });
  });

  it('runs automated_gather_creation and forwards its progress', async () => {
    const progress: number[] = [];
    const participants = Array.from({ length: 12 }, (_, i) => ({
      id: `u${i}`,
      location: { lat: 52.37 + i * 0.001, lon: 4.89 },
      availability: ['sat-18'],
      interests: ['chess'],
    }));
    const outcome = await pool.run(task('automated_gather_creation', { participants, group_size: { min: 3, max: 4 }, max_distance_km: 10 }), {
      onNews: (n) => n.kind === 'progress' && progress.push(n.pct),
    });
    expect(outcome).toMatchObject({ kind: 'completed', result: { partial: false, stats: { participants: 12 } } });
    expect(progress.at(-1)).toBe(100);
  });
});
