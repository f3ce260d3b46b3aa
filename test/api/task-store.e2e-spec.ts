import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/redis/redis-keys';
import { TaskStore } from '../../src/tasks/store/task-store';
import { TaskStatus } from '../../src/tasks/task-status';
import { startTestRedis, TestRedis } from '../support/redis';

/**
 * The transition scripts against a real Redis, below the worker: what every finish must leave
 * behind (counters, expiry, index and running-set entries), whatever the values it carries.
 */
describe('TaskStore transitions', () => {
  let redis: TestRedis;
  let client: Redis;
  let keys: RedisKeys;
  let store: TaskStore;
  const NAME = 'diagnostic.sleep';
  const TTL = 3600;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    keys = new RedisKeys(redis.prefix);
    store = new TaskStore(client, keys);
  });

  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  async function started(): Promise<string> {
    const id = randomUUID();
    const now = Date.now();
    await store.create({ id, taskName: NAME, queue: 'cpu_intensive', submittedAt: now, maxRetries: 3, ttlSeconds: TTL });
    const start = await store.start(id, now, randomUUID(), 'worker-1');
    expect(start.kind).toBe('started');
    return id;
  }

  const complete = (id: string, seconds: number) =>
    store.finish(id, {
      to: TaskStatus.Completed,
      now: Date.now(),
      fields: { result: 'null', finished_at: Date.now(), duration: seconds },
      stats: { completed: 1, [`duration_count:${NAME}`]: 1 },
      sums: { [`duration_sum:${NAME}`]: seconds },
      outcome: 'ok',
    });

  it('completes runs of any duration, a zero one after fractional ones included, with every side effect', async () => {
    const ids: string[] = [];
    // 0 after 0.25: a float sum growing by exactly 0 once aborted the script half way.
    for (const seconds of [0.25, 0, 0.004, 0]) {
      const id = await started();
      await expect(complete(id, seconds)).resolves.toEqual({ kind: 'ok' });
      ids.push(id);
    }

    const stats = await client.hgetall(keys.stats);
    expect(Number(stats.completed)).toBe(4);
    expect(Number(stats[`duration_count:${NAME}`])).toBe(4);
    expect(Number(stats[`duration_sum:${NAME}`])).toBeCloseTo(0.254, 6);
    for (const id of ids) {
      const ttl = await client.ttl(keys.task(id));
      expect(ttl).toBeGreaterThan(TTL - 60);
      expect(ttl).toBeLessThanOrEqual(TTL);
      expect(await client.hget(keys.task(id), 'status')).toBe(TaskStatus.Completed);
      expect(await client.zscore(keys.index({ status: TaskStatus.Completed }), id)).not.toBeNull();
      expect(await client.zscore(keys.index({ status: TaskStatus.Processing }), id)).toBeNull();
      expect(await client.zscore(keys.outcomes('all'), id)).not.toBeNull();
    }
    expect(await client.zcard(keys.running)).toBe(0);
    expect(await client.zcard(keys.expiry)).toBe(4);
  });

  it('puts a retrying run back without an expiry, and out of the running set', async () => {
    const id = await started();
    const now = Date.now();
    await expect(
      store.finish(id, { to: TaskStatus.Retrying, now, fields: { error: '{"type":"Error","message":"x"}', next_retry_at: now + 1000 }, stats: { retried: 1 } }),
    ).resolves.toEqual({ kind: 'ok' });
    expect(await client.ttl(keys.task(id))).toBe(-1);
    expect(await client.hmget(keys.task(id), 'status', 'next_retry_at')).toEqual([TaskStatus.Retrying, String(now + 1000)]);
    expect(await client.zscore(keys.running, id)).toBeNull();
    expect(await client.zscore(keys.outcomes('all'), id)).toBeNull();
    expect(Number(await client.hget(keys.stats, 'retried'))).toBe(1);
  });
});
