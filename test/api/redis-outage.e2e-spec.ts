import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { spawn } from 'node:child_process';
import request from 'supertest';
import { EmbeddedRedis, startEmbeddedRedis } from '../../src/app/embedded-redis';
import { loadConfig } from '../../src/config/configuration';
import { TEST_API_KEY, startApi } from '../support/app';
import { waitFor } from '../support/wait';

/** This suite stops and restarts its Redis, so it always runs its own redis-server. */
describe('API while Redis is unreachable', () => {
  let redis: EmbeddedRedis;
  let app: NestFastifyApplication;
  const api = () => request(app.getHttpServer());
  const submit = () =>
    api().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0 } });

  beforeAll(async () => {
    redis = await startEmbeddedRedis();
    app = await startApi(
      loadConfig({ REDIS_URL: redis.url, API_KEYS: TEST_API_KEY, ENABLE_DIAGNOSTIC_TASKS: 'true', LOG_LEVEL: 'fatal' }),
    );
  });

  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  it('answers 503 {detail} within a few seconds, stays alive, and recovers when Redis returns', async () => {
    const { body } = await submit().expect(201);
    await redis.stop();

    for (const req of [submit(), api().get(`/api/v1/tasks/${body.task_id}`).set('X-API-Key', TEST_API_KEY), api().get('/api/v1/tasks').set('X-API-Key', TEST_API_KEY), api().delete(`/api/v1/tasks/${body.task_id}`).set('X-API-Key', TEST_API_KEY)]) {
      const started = Date.now();
      const res = await req;
      expect(res.status).toBe(503);
      expect(typeof res.body.detail).toBe('string');
      expect(res.body.detail).not.toMatch(/at .*\.js:\d+/);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    const ready = await api().get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details.redis.status).toBe('down');
    await api().get('/health/live').expect(200);

    // Same port, so the clients' reconnect loop finds it.
    const again = spawn('redis-server', ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      await waitFor('the API to reconnect', async () => (await submit()).status === 201, 15_000, 200);
      await api().get('/health/ready').expect(200);
    } finally {
      again.kill('SIGTERM');
      await new Promise((r) => again.once('exit', r));
    }
  }, 40_000);
});
