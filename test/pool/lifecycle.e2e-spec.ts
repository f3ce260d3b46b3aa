import type { ChildStartFailedEvent, RunOutcome } from '../../src/processor/pool/pool.types';
import { waitFor } from '../support/wait';
import { BROKEN_CHILD, busyFor, collect, newPool, processGone, task } from './pool-test.helpers';

jest.setTimeout(30_000);

describe('ChildPool start-up', () => {
  it('never reuses a child that failed to start: retries with backoff, then start() rejects with the error', async () => {
    const pool = newPool({ size: 1, spareChildren: 0, childEntry: BROKEN_CHILD });
    const failures: ChildStartFailedEvent[] = collect(pool, 'childStartFailed');
    await expect(pool.start()).rejects.toThrow(/exited before it was ready code=1/);
    expect(failures.map((f) => [f.slot, f.failures, f.retryInMs])).toEqual([
      [0, 1, 100],
      [0, 2, 200],
      [0, 3, 400],
    ]);
    expect(pool.ready).toBe(false);
    expect(pool.slots()).toEqual([{ slot: 0, pid: null, busy: false, taskId: null, rssBytes: 0, tasksRun: 0 }]);
    await expect(pool.close(0)).resolves.toEqual({ unfinished: [] });
  });
});

describe('ChildPool graceful close', () => {
  it('lets a short task finish, kills a long one at the deadline, and reports it and the queued one as unfinished', async () => {
    const pool = newPool({ size: 2 });
    await pool.start();
    const pids = pool.slots().map((s) => s.pid!);

    const short = task('diagnostic.sleep', { seconds: 0.3 });
    const long = task('diagnostic.cpu', { seconds: 30 }, { softLimitMs: 20_000, hardLimitMs: 30_000 });
    const queued = task('diagnostic.sleep', { seconds: 0 });
    let longPid = 0;
    const runs = [pool.run(short), pool.run(long, { onNews: (n) => n.kind === 'started' && (longPid = n.pid) }), pool.run(queued)];
    await busyFor(longPid, 20);

    const closedAt = performance.now();
    const closing = pool.close(1_000);
    expect(pool.ready).toBe(false);
    await expect(pool.run(task('diagnostic.sleep', { seconds: 0 }))).resolves.toEqual({ kind: 'shutdown', pid: null, durationMs: null });
    const { unfinished } = await closing;
    const closeMs = performance.now() - closedAt;

    const [shortOutcome, longOutcome, queuedOutcome] = await Promise.all(runs);
    expect(shortOutcome).toMatchObject({ kind: 'completed', result: { soft_limit_hit: false } });
    expect(longOutcome).toMatchObject({ kind: 'shutdown', pid: longPid });
    expect(queuedOutcome).toEqual({ kind: 'shutdown', pid: null, durationMs: null });
    expect(unfinished.sort()).toEqual([long.taskId, queued.taskId].sort());
    expect(closeMs).toBeGreaterThanOrEqual(990);
    expect(closeMs).toBeLessThan(2_000);
    for (const pid of pids) expect(processGone(pid)).toBe(true);
    expect(pool.slots().every((s) => s.pid === null)).toBe(true);
    // Closing again is harmless and reports the same.
    await expect(pool.close(0)).resolves.toEqual({ unfinished });
  });

  it('brings the deadline forward when closed again with a shorter one', async () => {
    const pool = newPool({ size: 1, spareChildren: 0 });
    await pool.start();
    const long = task('diagnostic.cpu', { seconds: 30 }, { softLimitMs: 20_000, hardLimitMs: 30_000 });
    let pid = 0;
    const run = pool.run(long, { onNews: (n) => n.kind === 'started' && (pid = n.pid) });
    await waitFor('the task to start', () => pid);

    const closedAt = performance.now();
    const first = pool.close(20_000);
    const second = pool.close(0);
    await expect(second).resolves.toEqual({ unfinished: [long.taskId] });
    await expect(first).resolves.toEqual({ unfinished: [long.taskId] });
    expect(performance.now() - closedAt).toBeLessThan(1_000);
    await expect(run).resolves.toMatchObject({ kind: 'shutdown', pid } satisfies Partial<RunOutcome>);
    expect(processGone(pid)).toBe(true);
  });
});
