import { Queue } from 'bullmq';
import { getPriority } from 'node:os';
import { ChildPool } from '../../src/processor/pool/child-pool';
import { TEST_API_KEY } from '../support/app';
import { Stack, pidAlive } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

describe('worker: time limits, cancellation, memory, prefetch', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({
      WORKER_CONCURRENCY: '2',
      TASK_TIME_LIMIT: '1.5',
      TASK_SOFT_TIME_LIMIT: '0.5',
      TASK_MAX_RETRIES: '0',
      // Long enough that SIGTERM's end and SIGKILL's cannot be confused on a loaded machine.
      WORKER_CANCEL_GRACE: '1.5',
      // Low, so that the memory task crosses it within a fraction of its time limit even on a loaded machine.
      WORKER_MAX_MEMORY_PER_CHILD: '150000',
      WORKER_MAX_TASKS_PER_CHILD: '0',
      // Not the default (10), so that the test below sees the variable reach the children.
      WORKER_CHILD_NICENESS: '12',
    });
  });
  afterAll(() => s.stop());

  const busyPid = async (taskId: string): Promise<number> =>
    waitFor(`a child running ${taskId}`, () => s.worker!.get(ChildPool).slots().find((x) => x.taskId === taskId)?.pid ?? undefined, 10_000);

  it('runs its children at WORKER_CHILD_NICENESS', () => {
    const pids = s.worker!.get(ChildPool).slots().map((x) => x.pid);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(getPriority(pid!)).toBe(12);
  });

  it('runs a task in a child and records its result', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0.05 });
    const t = await s.until(id, 'completed');
    expect(t.result).toMatchObject({ soft_limit_hit: false, pid: expect.any(Number) });
    expect(t.result!.pid).not.toBe(process.pid);
    expect(t.attempts).toBe(1);
    expect(t.progress).toBe(100);
    expect(t.duration_seconds).toBeGreaterThan(0);
    expect(new Date(t.finished_at!).getTime()).toBeGreaterThanOrEqual(new Date(t.started_at!).getTime());
  });

  it('aborts the handler signal at the soft limit; the handler returns early', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 10 });
    const t = await s.until(id, 'completed');
    expect(t.result).toMatchObject({ soft_limit_hit: true });
    expect(t.duration_seconds!).toBeGreaterThanOrEqual(0.45);
    expect(t.duration_seconds!).toBeLessThan(1.4);
  });

  it('kills a busy loop at the hard limit and fails it with TimeLimitExceeded; a new child takes its slot', async () => {
    const id = await s.submit('diagnostic.cpu', { seconds: 30 });
    const pid = await busyPid(id);
    const t = await s.until(id, 'failed');
    expect(t.error).toEqual({ type: 'TimeLimitExceeded', message: expect.stringContaining('1.5') });
    expect(t.duration_seconds!).toBeGreaterThanOrEqual(1.45);
    expect(t.duration_seconds!).toBeLessThan(2.5);
    expect(pidAlive(pid)).toBe(false);
    await waitFor('the pool back at full size', () => s.worker!.get(ChildPool).slots().every((x) => x.pid !== null && x.pid !== pid));
  });

  it('cancels a running busy loop that ignores SIGTERM: 200 once the child is dead, never retried', async () => {
    const id = await s.submit('diagnostic.cpu', { seconds: 30 });
    const pid = await busyPid(id);
    await s.until(id, 'processing');
    const res = await s.cancel(id).expect(200);
    expect(res.body).toMatchObject({ task_id: id, status: 'cancelled', previous_state: 'processing', message: 'Task was running and has been terminated' });
    expect(pidAlive(pid)).toBe(false);
    const t = await s.get(id);
    expect(t.status).toBe('cancelled');
    expect(t.cancelled_at).toBe(res.body.cancelled_at);
    expect(t.attempts).toBe(1);
  });

  it('terminates a busy loop that does not trap SIGTERM without waiting for the grace period', async () => {
    const id = await s.submit('diagnostic.cpu', { seconds: 30, ignore_signals: false });
    const pid = await busyPid(id);
    await s.until(id, 'processing');
    const started = Date.now();
    const res = await s.cancel(id).expect(200);
    // SIGTERM ends it; SIGKILL would only come after WORKER_CANCEL_GRACE (1.5 s here).
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.body.previous_state).toBe('processing');
    expect(pidAlive(pid)).toBe(false);
  });

  it('kills a task at the lower time limit its submission asked for, and shows the limits in GET', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 5 }, { time_limit: 0.4 });
    const queued = await s.get(id);
    expect([queued.time_limit, queued.soft_time_limit, queued.max_retries]).toEqual([0.4, 0.4, 0]);
    const t = await s.until(id, 'failed');
    expect(t.error).toEqual({ type: 'TimeLimitExceeded', message: 'Task exceeded its time limit of 0.4s' });
    expect(t.duration_seconds).toBeLessThan(1.4);
    // Without options the type's limits show.
    const plain = await s.submit('diagnostic.sleep', { seconds: 0 });
    expect([(await s.get(plain)).time_limit, (await s.get(plain)).soft_time_limit]).toEqual([1.5, 0.5]);
  });

  it('answers 422 naming the cap when a submission asks for more than its type allows', async () => {
    const post = (options: object) => s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0 }, options });
    expect((await post({ time_limit: 2 }).expect(422)).body).toEqual({
      detail: "options.time_limit 2 is above the cap of diagnostic.sleep: 1.5 s; a submission may lower its type's limits, never raise them",
    });
    expect((await post({ soft_time_limit: 0.6 }).expect(422)).body.detail).toMatch(/^options\.soft_time_limit 0\.6 is above the cap of diagnostic\.sleep: 0\.5 s/);
    expect((await post({ max_retries: 1 }).expect(422)).body.detail).toMatch(/^options\.max_retries 1 is above the cap of diagnostic\.sleep: 0;/);
    expect((await post({ time_limit: 1, soft_time_limit: 1.2 }).expect(422)).body.detail).toMatch(/soft_time_limit 1\.2 is above/);
    expect((await post({ time_limit: 0 }).expect(422)).body.detail).toBe('Validation failed: options.time_limit: must be a positive number');
    expect((await post({ max_retries: -1 }).expect(422)).body.detail).toMatch(/^Validation failed: options\.max_retries: /);
  });

  it('kills a child whose RSS passes the limit mid-task: MemoryLimitExceeded', async () => {
    const id = await s.submit('diagnostic.memory', { mb: 600, hold_seconds: 1 });
    const t = await s.until(id, 'failed');
    expect(t.error?.type).toBe('MemoryLimitExceeded');
  });

  it('keeps jobs beyond the free children pending, and a pending one is cancelled without running', async () => {
    const queue = new Queue('{cpu_intensive}', { connection: { url: s.redis.url }, prefix: s.redis.prefix });
    try {
      const busy = [await s.submit('diagnostic.sleep', { seconds: 1 }), await s.submit('diagnostic.sleep', { seconds: 1 })];
      await Promise.all(busy.map((id) => s.until(id, 'processing')));
      const waiting = await s.submit('diagnostic.sleep', { seconds: 0 });
      // Prefetch 1 with 2 children: the worker holds at most 2 jobs; the third stays queued.
      await new Promise((r) => setTimeout(r, 200));
      expect((await queue.getJobCounts('active')).active).toBeLessThanOrEqual(2);
      expect((await s.get(waiting)).status).toBe('pending');
      const res = await s.cancel(waiting).expect(200);
      expect(res.body.previous_state).toBe('pending');
      await Promise.all(busy.map((id) => s.until(id, 'completed')));
      const after = await s.get(waiting);
      expect(after.status).toBe('cancelled');
      expect(after.attempts).toBe(0);
      expect(after.started_at).toBeNull();
    } finally {
      await queue.close();
    }
  });

  it('lets a revocation that races the hand-over win: a task never completes after a 200 cancel', async () => {
    for (let i = 0; i < 12; i++) {
      const id = await s.submit('diagnostic.sleep', { seconds: 0.2 });
      const res = await s.cancel(id);
      expect([200, 202]).toContain(res.status);
      const t = await s.until(id, 'cancelled', 10_000);
      // Past the time the sleep would have taken, it must still be cancelled.
      await new Promise((r) => setTimeout(r, 300));
      expect((await s.get(id)).status).toBe('cancelled');
      if (res.status === 200) expect(t.cancelled_at).toBe(res.body.cancelled_at);
    }
  });
});
