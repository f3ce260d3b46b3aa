import { randomUUID } from 'node:crypto';
import { ChildPool } from '../../src/processor/pool/child-pool';
import { TEST_API_KEY } from '../support/app';
import { Stack, pidAlive } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

interface Counts {
  cancelled: number;
  termination_requested: number;
  already_final: number;
  not_found: number;
  next_cursor: string | null;
}

describe('POST /api/v1/tasks/cancel', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({
      WORKER_CONCURRENCY: '1',
      TASK_TIME_LIMIT: '60',
      TASK_SOFT_TIME_LIMIT: '59',
      TASK_MAX_RETRIES: '1',
      TASK_RETRY_BACKOFF: '600',
      TASK_RETRY_JITTER: 'false',
      WORKER_CANCEL_GRACE: '1',
    });
  });
  afterAll(() => s.stop());

  const cancelMany = (body: object) => s.http().post('/api/v1/tasks/cancel').set('X-API-Key', TEST_API_KEY).send(body);
  const metrics = async () => (await s.http().get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200)).body.metrics;
  const submitBatch = async (n: number, payload: object, options?: object): Promise<string[]> => {
    const res = await s
      .http()
      .post('/api/v1/tasks/batch')
      .set('X-API-Key', TEST_API_KEY)
      .send({ tasks: Array.from({ length: n }, () => ({ task_name: 'diagnostic.sleep', payload, options })) })
      .expect(200);
    expect(res.body.created).toBe(n);
    return (res.body.items as { task_id: string }[]).map((i) => i.task_id);
  };

  it('refuses bad criteria with 422', async () => {
    const cases: [object, RegExp][] = [
      [{}, /task_ids: is required unless a filter is given/],
      [{ task_ids: [randomUUID()], status: 'pending' }, /status: cannot be combined with task_ids/],
      [{ task_ids: [randomUUID()], limit: 10 }, /limit: cannot be combined with task_ids/],
      [{ task_ids: [] }, /task_ids: must hold 1 to 1000 task ids/],
      [{ task_ids: Array.from({ length: 1001 }, () => randomUUID()) }, /task_ids: must hold 1 to 1000 task ids/],
      [{ task_ids: 'x' }, /task_ids: must be a list of task ids/],
      [{ task_ids: [1] }, /task_ids: must hold task ids only/],
      [{ status: 'completed' }, /status: must be one of the following values: pending, retrying, processing/],
      [{ task_name: 'diagnostic.sleep', limit: 1001 }, /limit: must not be greater than 1000/],
      [{ submitted_before: 'yesterday' }, /submitted_before: must be a valid ISO 8601 date string/],
      // ISO 8601 forms that Date.parse cannot read (they once reached Redis as NaN: a 500).
      [{ submitted_before: '2009-W01-1' }, /submitted_before: must be a calendar date and time such as 2024-01-01T00:00:00Z/],
      [{ submitted_before: '20090519' }, /submitted_before: must be a calendar date and time/],
      [{ submitted_before: '2009-123' }, /submitted_before: must be a calendar date and time/],
      [{ status: 'pending', cursor: 'abc' }, /cursor: must be a next_cursor/],
      [{ status: 'pending', everything: true }, /property everything should not exist/],
    ];
    for (const [body, detail] of cases) {
      const res = await cancelMany(body);
      expect([body, res.status]).toEqual([body, 422]);
      expect([body, res.body.detail]).toEqual([body, expect.stringMatching(detail)]);
    }
  });

  it('cancels by ids; unknown and malformed ids are not_found, finished ones already_final', async () => {
    const queued = await submitBatch(3, { seconds: 0 }, { delay_seconds: 600 });
    const done = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(done, 'completed');
    const res = await cancelMany({ task_ids: [...queued, queued[0], done, randomUUID(), 'not-a-task-id'] }).expect(200);
    expect(res.body).toEqual({ cancelled: 3, termination_requested: 0, already_final: 1, not_found: 2, next_cursor: null });
    for (const id of queued) expect((await s.get(id)).status).toBe('cancelled');
    // The same again: all of them are final now.
    expect((await cancelMany({ task_ids: queued }).expect(200)).body).toMatchObject({ cancelled: 0, already_final: 3 });
  });

  it('cancels by filter over more than 1000 tasks, page by page with next_cursor, a running and a retrying task included', async () => {
    const untouched = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(untouched, 'completed');
    const retrying = await s.submit('diagnostic.fail', { message: 'again later' });
    await s.until(retrying, 'retrying');
    const running = await s.submit('diagnostic.cpu', { seconds: 60 });
    await s.until(running, 'processing');
    const pid = await waitFor('the child running the cpu task', () => s.worker!.get(ChildPool).slots().find((x) => x.taskId === running)?.pid ?? undefined);
    // The one child is busy, so these wait in the queue.
    const queued = [...(await submitBatch(1000, { seconds: 0 })), ...(await submitBatch(150, { seconds: 0 }))];
    const before = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 10));
    const after = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    const m0 = await metrics();

    const first = (await cancelMany({ submitted_before: before }).expect(200)).body as Counts;
    expect(first).toEqual({ cancelled: 1000, termination_requested: 0, already_final: 0, not_found: 0, next_cursor: expect.stringMatching(/^\d+$/) });
    const second = (await cancelMany({ submitted_before: before, cursor: first.next_cursor }).expect(200)).body as Counts;
    expect(second).toEqual({ cancelled: 151, termination_requested: 1, already_final: 0, not_found: 0, next_cursor: null });

    // The running one goes through DELETE's terminate path: its child is stopped, then it is cancelled.
    const t = await s.until(running, 'cancelled', 15_000);
    expect(t.attempts).toBe(1);
    expect(pidAlive(pid)).toBe(false);
    expect((await s.get(retrying)).status).toBe('cancelled');
    for (const id of [queued[0], queued[999], queued[1000], queued[1149]]) expect((await s.get(id)).status).toBe('cancelled');
    expect((await s.get(untouched)).status).toBe('completed');
    // Submitted after submitted_before: left alone.
    expect((await s.get(after)).status).toBe('pending');

    const m1 = await metrics();
    expect(m1.cancelled_tasks).toBe(m0.cancelled_tasks + 1152);
    expect(m1.currently_running).toBe(0);
    // Nothing is left to cancel.
    expect((await cancelMany({ submitted_before: before }).expect(200)).body).toEqual({ cancelled: 0, termination_requested: 0, already_final: 0, not_found: 0, next_cursor: null });
    await s.cancel(after).expect(200);
  });

  it('filters by task_name and status, newest first, up to limit', async () => {
    const sleeps = await submitBatch(5, { seconds: 0 }, { delay_seconds: 600 });
    const fail = await s.submit('diagnostic.fail', { message: 'x' }, { delay_seconds: 600 });
    const page = (await cancelMany({ task_name: 'diagnostic.sleep', status: 'pending', limit: 2 }).expect(200)).body as Counts;
    expect(page).toMatchObject({ cancelled: 2, next_cursor: expect.any(String) });
    const statuses = await Promise.all(sleeps.map(async (id) => (await s.get(id)).status));
    // Newest first: the last two of the batch.
    expect(statuses).toEqual(['pending', 'pending', 'pending', 'cancelled', 'cancelled']);
    const rest = (await cancelMany({ task_name: 'diagnostic.sleep', status: 'pending', cursor: page.next_cursor }).expect(200)).body as Counts;
    expect(rest).toMatchObject({ cancelled: 3, next_cursor: null });
    expect((await s.get(fail)).status).toBe('pending');
    expect((await cancelMany({ task_name: 'diagnostic.fail', status: 'retrying' }).expect(200)).body.cancelled).toBe(0);
    expect((await cancelMany({ task_name: 'diagnostic.fail' }).expect(200)).body.cancelled).toBe(1);
  });
});
