import type { ChildPool } from '../../src/processor/pool/child-pool';
import { FIXTURE_CHILD, memoryLogger, newPool, task } from './pool-test.helpers';

jest.setTimeout(30_000);

describe('the task context a handler sees in its child', () => {
  const logger = memoryLogger();
  let pool: ChildPool;

  beforeAll(async () => {
    pool = newPool({ size: 1, spareChildren: 0, childEntry: FIXTURE_CHILD, logger });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('turns softLimitHit() true at the soft limit inside a loop that never yields', async () => {
    const outcome = await pool.run(task('fixture.spin_until_soft_limit', {}, { softLimitMs: 250, hardLimitMs: 5_000 }));
    expect(outcome).toMatchObject({ kind: 'completed', result: { signal_aborted: false } });
    const result = (outcome as { result: { spun_ms: number; polls: number } }).result;
    expect(result.spun_ms).toBeGreaterThanOrEqual(150);
    expect(result.spun_ms).toBeLessThan(1_000);
    expect(result.polls).toBeGreaterThan(1_000);
  });

  it('aborts the signal with a SoftTimeLimitExceeded reason', async () => {
    const outcome = await pool.run(task('fixture.await_abort', {}, { softLimitMs: 100, hardLimitMs: 5_000 }));
    expect(outcome).toMatchObject({ kind: 'completed', result: { reason: 'SoftTimeLimitExceeded' } });
  });

  it('passes task id and attempt, throttles progress, always delivers 100, and logs through the pool with fields', async () => {
    const progress: [number, string | undefined][] = [];
    const t = { ...task('fixture.progress', {}), attempt: 3 };
    const started = performance.now();
    const outcome = await pool.run(t, { onNews: (n) => n.kind === 'progress' && progress.push([n.pct, n.message]) });
    const elapsedMs = performance.now() - started;
    expect(outcome).toMatchObject({ kind: 'completed', result: { taskId: t.taskId, attempt: 3 } });
    const pid = outcome.pid;
    // 100 updates (3 ms apart, longer on a loaded machine), at most one per 100 ms plus the final
    // one: bounded by how long the run took, which is at least as long as the child's loop.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(Math.floor(elapsedMs / 100) + 2);
    expect(progress.length).toBeLessThan(100);
    expect(progress[0]).toEqual([1, 'step 1']);
    expect(progress.at(-1)).toEqual([100, 'step 100']);
    expect(logger.lines).toContain(`Fixture progress started task_id=${t.taskId} pid=${pid} steps=100`);
  });

  it('fails without retry on NonRetryableTaskError, keeping its name', async () => {
    const outcome = await pool.run(task('fixture.non_retryable', {}));
    expect(outcome).toMatchObject({ kind: 'failed', error: { type: 'NonRetryableTaskError', message: 'input can never work' }, retryable: false });
  });

  it('fails without retry when the result is not JSON-serialisable', async () => {
    const outcome = await pool.run(task('fixture.unserialisable', {}));
    expect(outcome).toMatchObject({ kind: 'failed', error: { type: 'TypeError', message: expect.stringContaining('not JSON-serialisable') }, retryable: false });
    // The child survived and serves the next task.
    await expect(pool.run(task('diagnostic.sleep', { seconds: 0 }))).resolves.toMatchObject({ kind: 'completed', pid: outcome.pid });
  });
});
