import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    let dev: Spawned | undefined;
    let stateDir: string;
    beforeEach(() => {
      stateDir = mkdtempSync(join(tmpdir(), 'sluice-state-'));
    });
    afterEach(async () => {
      if (dev && dev.child.exitCode === null) {
        dev.child.kill('SIGKILL');
        await dev.exited;
      }
      rmSync(stateDir, { recursive: true, force: true });
    });

    async function startDev(env: Record<string, string> = {}): Promise<{ port: number; started: Spawned }> {
      const port = await freePort();
      dev = spawnEntry('dev.ts', {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: redis.prefix,
        PORT: String(port),
        WORKER_PORT: String(await freePort()),
        ENABLE_DIAGNOSTIC_TASKS: 'true',
        SLUICE_STATE_DIR: stateDir,
        ...env,
      });
      const started = dev;
      await waitFor('the banner', () => /Sluice is ready[\s\S]*Try: /.test(started.output()), 20_000);
      return { port, started };
    }

    async function stop(started: Spawned): Promise<string> {
      started.child.kill('SIGTERM');
      expect((await started.exited).code).toBe(0);
      return started.output();
    }

    it('ends its start-up with a banner that gives the URLs, the Redis and why, and the key it generated and kept', async () => {
      const { port, started } = await startDev();
      const out = started.output();
      const banner = out.slice(out.indexOf('\n  Sluice is ready'));
      // Last in the output: nothing was logged after it while the service stood idle.
      expect(banner.trimEnd().split('\n').at(-1)).toMatch(/^ {2}Try: {2}curl /);
      expect(banner).toContain(`http://127.0.0.1:${port}/api/v1/tasks`);
      expect(banner).toContain(`http://127.0.0.1:${port}/docs`);
      expect(banner).toContain(`http://127.0.0.1:${port}/admin/queues`);
      expect(banner).toMatch(new RegExp(`Redis +${redis.url.replace(/\/\d*$/, '').replace(/[.]/g, '\\.')} db \\d+, prefix ${redis.prefix}\\n +\\(from REDIS_URL\\)`));
      const key = /^ {2}API key +(\S+)/m.exec(banner)![1];
      expect(banner).toContain('generated now and kept in');
      expect(readFileSync(join(stateDir, 'api-key'), 'utf8').trim()).toBe(key);

      // The key is in the banner and nowhere else; the log lines before it are pretty and plain.
      expect(out.slice(0, out.length - banner.length)).not.toContain(key);
      expect(out).toMatch(/^INFO: Worker consuming queues=cpu_intensive/m);
      expect(out).not.toContain('\x1b[');
      expect(out).not.toMatch(/InstanceLoader|RoutesResolver|Mapped \{/);

      const api = request(`http://127.0.0.1:${port}`);
      const marker = 'secret-location-52.3702';
      await api.post('/api/v1/tasks').set('X-API-Key', key).send({ task_name: 'diagnostic.fail', payload: { message: marker } }).expect(201);
      await api.post('/api/v1/tasks').set('X-API-Key', key).send({ task_name: 'diagnostic.fail', payload: { message: marker, bad: 1 } }).expect(422);
      await api.get('/api/v1/tasks').set('X-API-Key', `${key}-wrong`).expect(401);
      await api.get('/health/ready').expect(200);
      const all = await stop(started);
      expect(all.split(key).length - 1).toBe(banner.split(key).length - 1);
      expect(all).not.toContain(marker);
      expect(all).toMatch(/^INFO: HTTP request method=POST route=\/api\/v1\/tasks status=201 duration_ms=[\d.]+ key_label=local request_id=\S+$/m);

      // A restart keeps the key, so scripts and browsers need not learn a new one.
      const again = await startDev();
      expect(/^ {2}API key +(\S+)/m.exec(again.started.output())![1]).toBe(key);
      expect(again.started.output()).toContain('kept in');
      await request(`http://127.0.0.1:${again.port}`).get('/api/v1/tasks/metrics').set('X-API-Key', key).expect(200);
      await stop(again.started);
    }, 60_000);

    it('never prints a configured key, and logs JSON when LOG_FORMAT=json', async () => {
      const secret = 'configured-key-0123456789abcdef';
      const { port, started } = await startDev({ API_KEYS: `ops:${secret}`, LOG_FORMAT: 'json' });
      await request(`http://127.0.0.1:${port}`).get('/api/v1/tasks/metrics').set('X-API-Key', secret).expect(200);
      const out = await stop(started);
      expect(out).not.toContain(secret);
      expect(out).not.toMatch(/^ {2}API key /m);
      expect(existsSync(join(stateDir, 'api-key'))).toBe(false);
      const logLines = out.split('\n').filter((l) => l.startsWith('{'));
      expect(logLines.length).toBeGreaterThan(2);
      for (const line of logLines) expect(Object.keys(JSON.parse(line))).toEqual(expect.arrayContaining(['time', 'level', 'msg']));
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
