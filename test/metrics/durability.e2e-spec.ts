import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { RedisKeys } from '../../src/redis/redis-keys';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { OwnRedis, startOwnRedis } from '../support/redis-server';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

interface Alert {
  severity: string;
  metric: string;
  value: number;
  message: string;
  data_lost_at?: string;
}
interface Health {
  status: string;
  alerts: Alert[];
}

/** The health report, or undefined while the API answers anything but 200 (Redis away: 503). */
const healthOf = async (app: NestFastifyApplication): Promise<Health | undefined> => {
  const res = await request(app.getHttpServer()).get('/api/v1/tasks/health').set('X-API-Key', TEST_API_KEY);
  return res.status === 200 ? (res.body as Health) : undefined;
};
const alertOf = async (app: NestFastifyApplication, metric: string): Promise<Alert | undefined> => (await healthOf(app))?.alerts.find((a) => a.metric === metric);
const prometheus = async (app: NestFastifyApplication): Promise<string> => (await request(app.getHttpServer()).get('/metrics').expect(200)).text;
const dataLostGauge = async (app: NestFastifyApplication): Promise<number | undefined> => {
  const m = /^sluice_redis_data_lost (\S+)$/m.exec(await prometheus(app));
  return m ? Number(m[1]) : undefined;
};
const newPrefix = (): string => `t${randomUUID().slice(0, 8)}`;

describe('Redis durability checks', () => {
  describe('persistence and eviction settings', () => {
    let redis: OwnRedis | undefined;
    let s: Stack | undefined;
    afterEach(async () => {
      await s?.stop(); // stops its Redis too
      s = undefined;
      redis = undefined;
    });

    it('warns with redis_persistence, naming each setting, on a Redis without AOF and with an evicting policy', async () => {
      redis = await startOwnRedis(newPrefix(), { persistent: false });
      const admin = new Redis(redis.url);
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      admin.disconnect();
      s = await Stack.start({ ALERT_EVAL_INTERVAL: '0.2' }, { worker: false }, redis);

      const alert = await waitFor('the redis_persistence warning', () => alertOf(s!.api, 'redis_persistence'), 5000, 50);
      expect(alert).toMatchObject({ severity: 'warning', value: 2 });
      expect(alert.message).toBe('Redis can lose data: AOF persistence is off (aof_enabled:0; needs appendonly yes); maxmemory-policy is allkeys-lru (needs noeviction)');
      expect((await healthOf(s.api))?.status).toBe('warning');
      expect(await prometheus(s.api)).toMatch(/^sluice_alert_active\{alert="redis_persistence",severity="warning"\} 1$/m);
    });

    it('stays quiet on a Redis with --appendonly yes and --maxmemory-policy noeviction', async () => {
      redis = await startOwnRedis(newPrefix(), { persistent: true });
      s = await Stack.start({ ALERT_EVAL_INTERVAL: '0.2' }, { worker: false }, redis);

      const h = await waitFor('a health report', () => healthOf(s!.api), 5000, 50);
      expect(h).toMatchObject({ status: 'healthy', alerts: [] });
      expect(await prometheus(s.api)).toMatch(/^sluice_alert_active\{alert="redis_persistence",severity="warning"\} 0$/m);
      expect(await dataLostGauge(s.api)).toBe(0);
    });
  });

  describe('a Redis restarted without persistence', () => {
    let redis: OwnRedis;
    let s: Stack;
    const others: NestFastifyApplication[] = [];
    beforeAll(async () => {
      redis = await startOwnRedis(newPrefix(), { persistent: false });
      s = await Stack.start({ ALERT_EVAL_INTERVAL: '0.2', ALERT_DATA_LOST_HOLD: '6' }, { worker: false }, redis);
    });
    afterAll(async () => {
      await Promise.allSettled(others.map((a) => a.close()));
      await s.stop();
    });

    it('turns health critical with redis_data_lost within 10 s, and sluice_redis_data_lost reads 1', async () => {
      const before = await waitFor('a first health report', () => healthOf(s.api), 5000, 50);
      expect(before.alerts.map((a) => a.metric)).not.toContain('redis_data_lost');
      expect(await dataLostGauge(s.api)).toBe(0);

      const restarted = Date.now();
      await redis.restartEmpty();
      const alert = await waitFor('the redis_data_lost alert', () => alertOf(s.api, 'redis_data_lost'), 10_000, 50);
      expect(Date.now() - restarted).toBeLessThan(10_000);
      expect(alert).toMatchObject({ severity: 'critical', message: expect.stringMatching(/^Redis lost its data \(found at .+\): tasks, results and counters written before then are gone$/) });
      expect(Date.parse(alert.data_lost_at!)).toBeGreaterThanOrEqual(restarted);
      expect((await healthOf(s.api))?.status).toBe('critical');
      expect(await dataLostGauge(s.api)).toBe(1);

      // The loss is recorded in Redis, next to the new epoch, for every pod to read.
      const admin = new Redis(redis.url);
      const epoch = await admin.hgetall(new RedisKeys(redis.prefix).epoch);
      admin.disconnect();
      expect(Number(epoch.data_lost_at)).toBe(Date.parse(alert.data_lost_at!));
      expect(epoch.previous).toBeTruthy();
      expect(epoch.id).not.toBe(epoch.previous);
    });

    it('is reported by a pod that starts after the loss was found, too', async () => {
      const late = await startApi(testConfig(redis, { ALERT_EVAL_INTERVAL: '0.2', ALERT_DATA_LOST_HOLD: '6' }));
      others.push(late);
      const mine = await waitFor('the late pod to report the loss', () => alertOf(late, 'redis_data_lost'), 5000, 50);
      expect(mine.data_lost_at).toBe((await alertOf(s.api, 'redis_data_lost'))?.data_lost_at);
    });

    it('clears after ALERT_DATA_LOST_HOLD, and the gauge returns to 0', async () => {
      await waitFor('the data-lost alert to clear', async () => (await healthOf(s.api)) && !(await alertOf(s.api, 'redis_data_lost')), 10_000, 100);
      expect(await dataLostGauge(s.api)).toBe(0);
      // Not critical any more; the restarted server still has no AOF, which stays a warning.
      expect((await healthOf(s.api))?.status).toBe('warning');
    });
  });

  describe('an epoch that changes under a running pod', () => {
    let s: Stack;
    beforeAll(async () => {
      s = await Stack.start({ ALERT_EVAL_INTERVAL: '0.2' }, { worker: false }, await startOwnRedis(newPrefix(), { persistent: true }));
    });
    afterAll(() => s.stop());

    it('counts as a loss: a dataset restored from elsewhere is not the one the pod saw', async () => {
      await waitFor('a first health report', () => healthOf(s.api), 5000, 50);
      const admin = new Redis(s.redis.url);
      const key = new RedisKeys(s.redis.prefix).epoch;
      await admin.del(key);
      await admin.hset(key, 'id', 'restored-from-an-old-backup', 'created_at', '1');
      const alert = await waitFor('the redis_data_lost alert', () => alertOf(s.api, 'redis_data_lost'), 5000, 50);
      expect(alert.severity).toBe('critical');
      expect(await admin.hget(key, 'id')).toBe('restored-from-an-old-backup');
      expect(await admin.hget(key, 'data_lost_at')).toBe(String(Date.parse(alert.data_lost_at!)));
      admin.disconnect();
    });
  });
});
