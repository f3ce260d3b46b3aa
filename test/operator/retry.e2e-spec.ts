import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { QueueKeys } from '../../src/tasks/lifecycle/task-keys';
import { TaskReaper } from '../../src/tasks/lifecycle/task-reaper';
import { TEST_API_KEY } from '../support/app';
import { Stack, TaskView } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(90_000);

interface Series {
  status: string;
  error: { type: string; message: string } | null;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  retried_at: string;
  retried_by: string | null;
}
type Retried = TaskView & { attempt_history: Series[]; submitted_at: string };

const retry = (s: Stack, id: string, key = TEST_API_KEY) => s.http().post(`/api/v1/tasks/${id}/retry`).set('X-API-Key', key);
const metricsOf = async (s: Stack) => (await s.http().get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200)).body.metrics;
/** The run_log lines of one task: one per run that finished its work. */
const runsOf = (dir: string, id: string): string[] =>
  readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n')).filter((l) => l.startsWith(`${id} `));

describe('POST /api/v1/tasks/{id}/retry', () => {
  let s: Stack;
  let runLog: string;
  beforeAll(async () => {
    runLog = mkdtempSync(join(tmpdir(), 'sluice-retry-'));
    s = await Stack.start({
      WORKER_CONCURRENCY: '2',
      TASK_MAX_RETRIES: '1',
      TASK_RETRY_BACKOFF: '0.1',
      TASK_RETRY_JITTER: 'false',
      TASK_TIME_LIMIT: '1',
      TASK_SOFT_TIME_LIMIT: '0.5',
    });
  });
  afterAll(async () => {
    await s.stop();
    rmSync(runLog, { recursive: true, force: true });
  });

  it('re-queues a failed task as a new series with its full retries; GET keeps the earlier series', async () => {
    const id = await s.submit('diagnostic.fail', { message: 'boom', run_log: runLog });
    const first = (await s.until(id, 'failed', 20_000)) as Retried;
    expect(first.attempts).toBe(2);
    expect(first.attempt_history).toEqual([]);
    expect(runsOf(runLog, id)).toHaveLength(2);
    const before = await metricsOf(s);

    const res = await retry(s, id).expect(200);
    expect(res.body).toMatchObject({ task_id: id, task_name: 'diagnostic.fail', submitted_at: first.submitted_at, error: null, finished_at: null, cancelled_at: null });
    expect(['pending', 'processing']).toContain(res.body.status);
    expect(res.body.attempt_history).toEqual([
      {
        status: 'failed',
        error: { type: 'Error', message: 'boom' },
        attempts: 2,
        started_at: first.started_at,
        finished_at: first.finished_at,
        retried_at: expect.any(String),
        retried_by: expect.stringMatching(/^key-[0-9a-f]{8}$/),
      },
    ]);
    const retriedAt = new Date(res.body.attempt_history[0].retried_at).getTime();
    expect(retriedAt).toBeGreaterThanOrEqual(new Date(first.finished_at!).getTime());
    // The task left failed_tasks: the JSON counters count final states, one per task.
    const after = await metricsOf(s);
    expect(after).toMatchObject({ failed_tasks: before.failed_tasks - 1, requeued_tasks: before.requeued_tasks + 1, total_tasks: before.total_tasks });

    // It runs again, both attempts, and fails again: the same task, a second series.
    const again = (await s.until(id, 'failed', 20_000)) as Retried;
    expect(again.attempts).toBe(2);
    expect(runsOf(runLog, id)).toHaveLength(4);
    expect(again.attempt_history).toHaveLength(1);
    expect(new Date(again.started_at!).getTime()).toBeGreaterThan(retriedAt - 1);
    expect((await metricsOf(s)).failed_tasks).toBe(before.failed_tasks);

    await retry(s, id).expect(200);
    const third = (await s.until(id, 'failed', 20_000)) as Retried;
    expect(third.attempt_history.map((a) => a.attempts)).toEqual([2, 2]);
    expect(third.attempt_history[1].started_at).toBe(again.started_at);
  });

  it('re-queues a cancelled task, without its delay, and it completes; history says it never ran', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    await s.cancel(id).expect(200);
    const cancelled = (await s.get(id)) as Retried;
    const before = await metricsOf(s);
    const res = await retry(s, id).expect(200);
    expect(res.body.attempt_history).toEqual([
      expect.objectContaining({ status: 'cancelled', error: { type: 'TaskCancelled', message: 'Task was cancelled' }, attempts: 0, started_at: null, finished_at: cancelled.cancelled_at }),
    ]);
    const done = (await s.until(id, 'completed')) as Retried;
    expect(done.attempts).toBe(1);
    expect(done.cancelled_at).toBeNull();
    expect(done.attempt_history).toHaveLength(1);
    const after = await metricsOf(s);
    expect(after).toMatchObject({ cancelled_tasks: before.cancelled_tasks - 1, completed_tasks: before.completed_tasks + 1, requeued_tasks: before.requeued_tasks + 1 });
  });

  it('answers 409 with detail for a completed, a pending and a running task, and 404 for an unknown one', async () => {
    const done = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(done, 'completed');
    expect((await retry(s, done).expect(409)).body).toEqual({ detail: 'Task is completed: only a failed or cancelled task can be retried' });

    const queued = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    expect((await retry(s, queued).expect(409)).body.detail).toBe('Task is pending: only a failed or cancelled task can be retried');

    const running = await s.submit('diagnostic.sleep', { seconds: 0.8 });
    await s.until(running, 'processing');
    expect((await retry(s, running).expect(409)).body.detail).toMatch(/^Task is processing/);
    await s.until(running, 'completed');
    await s.cancel(queued).expect(200);

    expect((await retry(s, randomUUID()).expect(404)).body).toEqual({ detail: 'Task not found' });
    await retry(s, 'not-a-task-id').expect(404);
  });

  it('lets exactly one of two concurrent retries win', async () => {
    for (let i = 0; i < 5; i++) {
      const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
      await s.cancel(id).expect(200);
      const answers = await Promise.all([retry(s, id), retry(s, id, 'second-key-abcdefghijkl')]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const t = (await s.until(id, 'completed')) as Retried;
      expect(t.attempt_history).toHaveLength(1);
    }
  });

  it('measures a retried series from its retry: it is counted once more as submitted-to-started time, not from submission', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    await s.cancel(id).expect(200);
    await new Promise((r) => setTimeout(r, 1500));
    const sample = async (): Promise<{ count: number; sum: number }> => {
      const text = (await request(s.worker!.getHttpServer()).get('/metrics').expect(200)).text;
      const read = (name: string) =>
        Number(text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('task_name="diagnostic.sleep"'))?.split(' ').pop() ?? 0);
      return { count: read('sluice_task_queue_wait_seconds_count'), sum: read('sluice_task_queue_wait_seconds_sum') };
    };
    const before = await sample();
    await retry(s, id).expect(200);
    await s.until(id, 'completed');
    const after = await waitFor('the run to be observed', async () => {
      const x = await sample();
      return x.count > before.count ? x : undefined;
    });
    expect(after.count).toBe(before.count + 1);
    // Not the 1.5 s the task sat cancelled, nor its 600 s delay.
    expect(after.sum - before.sum).toBeLessThan(1);
  });

  it('runs a failed task again once the cause is fixed: a time limit raised on a new worker', async () => {
    const id = await s.submit('diagnostic.cpu', { seconds: 1.5 });
    const failed = (await s.until(id, 'failed', 20_000)) as Retried;
    expect(failed.error?.type).toBe('TimeLimitExceeded');
    await s.worker!.close();
    await s.startWorker({ WORKER_CONCURRENCY: '1', TASK_MAX_RETRIES: '1', TASK_TIME_LIMIT: '10', TASK_SOFT_TIME_LIMIT: '9' });
    await retry(s, id).expect(200);
    const done = (await s.until(id, 'completed', 20_000)) as Retried;
    expect(done.attempts).toBe(1);
    expect(done.error).toBeNull();
    expect(done.attempt_history).toEqual([expect.objectContaining({ status: 'failed', attempts: 2, error: expect.objectContaining({ type: 'TimeLimitExceeded' }) })]);
    const prom = (await request(s.api.getHttpServer()).get('/metrics').expect(200)).text;
    expect(prom).toMatch(/sluice_task_requeued_total\{queue="cpu_intensive",task_name="diagnostic.cpu",from="failed"\} 1\b/);
  });
});

describe('retry against the reaper', () => {
  let s: Stack;
  let raw: Redis;
  let keys: QueueKeys;
  beforeAll(async () => {
    s = await Stack.start({ TASK_RESULT_EXPIRES: '2' }, { worker: false });
    raw = new Redis(s.redis.url);
    keys = new QueueKeys(s.redis.prefix, 'cpu_intensive');
  });
  afterAll(async () => {
    raw.disconnect();
    await s.stop();
  });

  const cancelledTask = async (): Promise<string> => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    await s.cancel(id).expect(200);
    return id;
  };

  it('answers 404 for a task past its retention that the reaper has not removed yet, and leaves it to the reaper', async () => {
    const id = await cancelledTask();
    await waitFor('the task to expire', async () => (await s.http().get(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY)).status === 404, 5000, 100);
    expect(await raw.exists(keys.job(id))).toBe(1);
    await retry(s, id).expect(404);
    expect(await raw.zscore(keys.finished('failed'), id)).not.toBeNull();
    await s.api.get(TaskReaper).reap();
    expect(await raw.exists(keys.job(id))).toBe(0);
  });

  it('never leaves half a task when a retry and the reaper meet: retried and kept, or reaped and 404', async () => {
    const tasks: { id: string; at: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const id = await cancelledTask();
      tasks.push({ id, at: new Date((await s.get(id)).cancelled_at!).getTime() });
      await new Promise((r) => setTimeout(r, 3));
    }
    const reaper = s.api.get(TaskReaper);
    for (const { id, at } of tasks) {
      // The reaper runs as if this task's retention had just passed, while its retry comes in.
      const [answer] = await Promise.all([retry(s, id), new Promise((r) => setTimeout(r, Math.random() * 4)).then(() => reaper.reap(at + 2000))]);
      expect([200, 404]).toContain(answer.status);
      const exists = await raw.exists(keys.job(id));
      const indexed = await raw.zscore(keys.index({}), id);
      if (answer.status === 200) {
        expect([id, exists, indexed !== null, await raw.hget(keys.job(id), 'sst')]).toEqual([id, 1, true, 'pending']);
        expect(await raw.lpos(keys.bull('wait'), id)).not.toBeNull();
        expect(await raw.zscore(keys.finished('failed'), id)).toBeNull();
      } else {
        expect([id, exists, indexed]).toEqual([id, 0, null]);
      }
    }
    // A retried task left the failed set, so no later pass removes it (measured here: about a
    // third of the retries won).
    const kept: string[] = [];
    for (const { id } of tasks) if ((await raw.exists(keys.job(id))) === 1) kept.push(id);
    await reaper.reap(Date.now() + 60_000);
    for (const id of kept) expect([id, await raw.exists(keys.job(id))]).toEqual([id, 1]);
  });
});
