import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { resolveDevRedis } from '../../src/app/dev-redis';
import { RedisServerMissingError, freePort } from '../../src/app/embedded-redis';
import { Spawned, spawnEntry } from '../support/process';
import { TestRedis, startTestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

describe('entry points', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(() => redis.stop());

  it.each(['main.ts', 'worker.ts'])('%s refuses to start without API_KEYS', async (entry) => {
    const p = spawnEntry(entry, { REDIS_URL: redis.url });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/Invalid configuration: API_KEYS or API_KEY_HASHES must be set/);
  }, 20_000);

  it.each([
    ['PORT', 'abc'],
    ['TASK_SOFT_TIME_LIMIT', '700'],
    ['WORKER_CONCURRENCY', 'many'],
  ])('stops the boot naming %s when it is %s', async (name, value) => {
    const p = spawnEntry('main.ts', { REDIS_URL: redis.url, API_KEYS: 'k', [name]: value });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(new RegExp(`^Invalid configuration: ${name} `, 'm'));
    expect(p.output()).not.toMatch(/\n\s+at /);
  }, 20_000);

  it('names every invalid variable in one message', async () => {
    const p = spawnEntry('main.ts', { REDIS_URL: redis.url, API_KEYS: 'k', PORT: 'abc', WORKER_CONCURRENCY: '0' });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/^Invalid configuration: .*PORT .*; .*WORKER_CONCURRENCY /m);
  }, 20_000);

  it('reads .env from the working directory in development, and not with NODE_ENV=production', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-env-'));
    try {
      writeFileSync(join(dir, '.env'), 'WORKER_CONCURRENCY=0\nAPI_KEYS=from-dotenv-key\n');
      const dev = spawnEntry('main.ts', { REDIS_URL: redis.url }, dir);
      expect((await dev.exited).code).toBe(1);
      expect(dev.output()).toMatch(/^Invalid configuration: WORKER_CONCURRENCY /m);
      expect(dev.output()).not.toContain('from-dotenv-key');
      const prod = spawnEntry('main.ts', { REDIS_URL: redis.url, NODE_ENV: 'production' }, dir);
      expect((await prod.exited).code).toBe(1);
      expect(prod.output()).toMatch(/Invalid configuration: API_KEYS or API_KEY_HASHES must be set/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  describe('npm start (src/dev.ts)', () => {
    let dev: Spawned;
    let port: number;
    afterEach(async () => {
      if (dev.child.exitCode === null) {
        dev.child.kill('SIGKILL');
        await dev.exited;
      }
    });

    it('prints one generated key, serves the API with it, and never logs keys or payloads', async () => {
      port = await freePort();
      dev = spawnEntry('dev.ts', {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: redis.prefix,
        PORT: String(port),
        WORKER_PORT: String(await freePort()),
        ENABLE_DIAGNOSTIC_TASKS: 'true',
        LOG_LEVEL: 'debug',
      });
      const key = await waitFor('the generated key', () => /X-API-Key: (\S+)/.exec(dev.output())?.[1], 20_000);
      await waitFor('the API', () => /Sluice is up/.test(dev.output()), 20_000);
      const api = request(`http://127.0.0.1:${port}`);
      const marker = 'secret-location-52.3702';
      await api.post('/api/v1/tasks').set('X-API-Key', key).send({ task_name: 'diagnostic.fail', payload: { message: marker } }).expect(201);
      await api.post('/api/v1/tasks').set('X-API-Key', key).send({ task_name: 'diagnostic.fail', payload: { message: marker, bad: 1 } }).expect(422);
      await api.get('/api/v1/tasks').set('X-API-Key', `${key}-wrong`).expect(401);
      await api.get('/health/ready').expect(200);

      dev.child.kill('SIGTERM');
      expect((await dev.exited).code).toBe(0);
      const out = dev.output();
      expect(out.split(key).length - 1).toBe(1);
      expect(out).not.toContain(marker);
    }, 40_000);
  });

  describe('resolveDevRedis', () => {
    it('uses REDIS_URL when set', async () => {
      expect(await resolveDevRedis({ REDIS_URL: 'redis://example:1' })).toEqual({ url: 'redis://example:1', source: 'REDIS_URL' });
    });

    it('uses the local Redis when it answers', async () => {
      const r = await resolveDevRedis({}, redis.url);
      expect(r).toEqual({ url: redis.url, source: 'local' });
    });

    it('starts an embedded redis-server on a free port when nothing answers, and stops it', async () => {
      const r = await resolveDevRedis({}, 'redis://127.0.0.1:1');
      expect(r.source).toBe('embedded');
      const client = new Redis(r.url);
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
      await r.embedded!.stop();
      expect(r.embedded!.process.exitCode !== null || r.embedded!.process.signalCode !== null).toBe(true);
    });

    it('says what to install or set when there is no redis-server binary', async () => {
      const err = await resolveDevRedis({}, 'redis://127.0.0.1:1', 'redis-server-that-does-not-exist').catch((e: Error) => e);
      expect(err).toBeInstanceOf(RedisServerMissingError);
      expect((err as Error).message).toMatch(/apt-get install redis-server/);
      expect((err as Error).message).toMatch(/REDIS_URL/);
    });
  });
});
