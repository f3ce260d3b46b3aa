import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/redis/redis-keys';
import { TaskIndexSweeper } from '../../src/tasks-api/task-index-sweeper';
import { TEST_API_KEY } from '../support/app';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(30_000);

describe('retention of finished tasks', () => {
  let s: Stack;
  let raw: Redis;
  beforeAll(async () => {
    s = await Stack.start({ TASK_RESULT_EXPIRES: '1', WORKER_CONCURRENCY: '1' });
    raw = new Redis(s.redis.url);
  });
  afterAll(async () => {
    raw.disconnect();
    await s.stop();
  });

  it('forgets a finished task after TASK_RESULT_EXPIRES and drops it from every index', async () => {
    const keys = s.api.get(RedisKeys);
    const id = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(id, 'completed');
    expect(await raw.zscore(keys.index({}), id)).not.toBeNull();
    await waitFor('the record to expire', async () => (await raw.exists(keys.task(id))) === 0, 5000, 100);
    await s.http().get(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY).expect(404);

    expect(await s.api.get(TaskIndexSweeper).sweep()).toBeGreaterThanOrEqual(1);
    for (const filter of [{}, { taskName: 'diagnostic.sleep' }, { status: 'completed' as never }, { taskName: 'diagnostic.sleep', status: 'completed' as never }]) {
      expect(await raw.zscore(keys.index(filter), id)).toBeNull();
    }
    expect(await raw.zcard(keys.expiry)).toBe(0);
  });
});
