import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueKeys } from '../../src/tasks/lifecycle/task-keys';
import { TaskReaper } from '../../src/tasks/lifecycle/task-reaper';
import { TEST_API_KEY } from '../support/app';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(30_000);

describe('retention of finished tasks', () => {
  let s: Stack;
  let raw: Redis;
  let keys: QueueKeys;
  beforeAll(async () => {
    s = await Stack.start({ TASK_RESULT_EXPIRES: '1', WORKER_CONCURRENCY: '1' });
    raw = new Redis(s.redis.url);
    keys = new QueueKeys(s.redis.prefix, 'cpu_intensive');
  });
  afterAll(async () => {
    raw.disconnect();
    await s.stop();
  });

  const indexes = [{}, { taskName: 'diagnostic.sleep' }, { status: 'completed' as never }, { taskName: 'diagnostic.sleep', status: 'completed' as never }];

  it('forgets a finished task after TASK_RESULT_EXPIRES, then removes its job and every index entry in one pass', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(id, 'completed');
    for (const filter of indexes) expect(await raw.zscore(keys.index(filter), id)).not.toBeNull();
    // Gone for the API as soon as its retention ends, whether or not the reaper has run yet.
    await waitFor('the task to expire', async () => (await s.http().get(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY)).status === 404, 5000, 100);
    const list = await s.http().get('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(list.body.items.map((t: { task_id: string }) => t.task_id)).not.toContain(id);

    expect(await s.api.get(TaskReaper).reap()).toBeGreaterThanOrEqual(1);
    expect(await raw.exists(keys.job(id))).toBe(0);
    expect(await raw.zscore(keys.finished('completed'), id)).toBeNull();
    for (const filter of indexes) expect(await raw.zscore(keys.index(filter), id)).toBeNull();
  });

  it('keeps a cancelled task, payload included, in BullMQ failed set until it expires', async () => {
    const queue = new Queue('{cpu_intensive}', { connection: { url: s.redis.url }, prefix: s.redis.prefix });
    try {
      const id = await s.submit('diagnostic.sleep', { seconds: 5 }, { delay_seconds: 60 });
      await s.cancel(id).expect(200);
      const job = await queue.getJob(id);
      expect(await job?.getState()).toBe('failed');
      expect(job?.data).toEqual({ task_name: 'diagnostic.sleep', payload: { seconds: 5 } });
      await waitFor('the cancelled task to expire', async () => (await s.http().get(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY)).status === 404, 5000, 100);
      await s.api.get(TaskReaper).reap();
      expect(await raw.exists(keys.job(id))).toBe(0);
      expect(await raw.zscore(keys.finished('failed'), id)).toBeNull();
    } finally {
      await queue.close();
    }
  });
});
