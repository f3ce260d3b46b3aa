import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { EmbeddedRedis, startEmbeddedRedis } from '../../src/app/embedded-redis';
import { METRIC } from '../../src/metrics/metric-names';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { linesWith, promSum } from '../support/faults';
import { captureOutput } from '../support/output';
import { waitFor } from '../support/wait';

const SECOND_KEY = 'second-key-abcdefghijkl';
const WRONG_KEY = 'wrong-key-must-never-be-logged-0123';
const PER_KEY = 5;
const PER_IP = 3;

/**
 * Rate limiting on Sluice's Redis. This suite stops its Redis to show the limiter fails open, so it
 * runs a redis-server of its own.
 */
describe('Rate limiting (per key, per client IP, shared through Redis)', () => {
  let redis: EmbeddedRedis;
  let direct: NestFastifyApplication;
  let proxied: NestFastifyApplication;
  const env = { RATE_LIMIT_PER_MINUTE: String(PER_KEY), RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: String(PER_IP) };
  // AOF on, as production runs it, so that the restart below keeps the data.
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-rl-'));
  const api = (app = direct) => request(app.getHttpServer());
  const prefix = `rl${process.pid}`;

  beforeAll(async () => {
    redis = await startEmbeddedRedis({ dataDir });
    const own = { url: redis.url, prefix, stop: async () => undefined };
    direct = await startApi(testConfig(own, env));
    // Two pods on one Redis: the second believes X-Forwarded-For from a local proxy.
    proxied = await startApi(testConfig(own, { ...env, API_TRUST_PROXY: '127.0.0.1,::1', LOG_LEVEL: 'warn' }));
  });

  afterAll(async () => {
    await Promise.allSettled([direct.close(), proxied.close()]);
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('limits a valid key to RATE_LIMIT_PER_MINUTE across pods, then answers 429 with Retry-After and detail', async () => {
    for (let i = 0; i < PER_KEY; i++) {
      // Alternating pods: the budget is in Redis, not in either process.
      const res = await api(i % 2 ? proxied : direct).get('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).expect(200);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(PER_KEY - 1 - i));
    }
    const limited = await api().get('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).expect(429);
    expect(limited.body).toEqual({ detail: expect.stringMatching(/^Rate limit exceeded: at most 5 requests per minute per API key; retry in \d+/) });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers['x-request-id']).toBeDefined();
    // Another key has its own budget; probes and /metrics are never limited.
    await api().get('/api/v1/tasks').set('X-API-Key', SECOND_KEY).expect(200);
    for (let i = 0; i < 10; i++) await api().get('/health/live').set('X-API-Key', TEST_API_KEY).expect(200);
    await api().get('/metrics').set('X-API-Key', TEST_API_KEY).expect(200);
  });

  it('limits requests without a valid key per client IP, before the 401, and ignores X-Forwarded-For unless told', async () => {
    for (let i = 0; i < PER_IP; i++) await api().get('/api/v1/tasks').set('X-API-Key', WRONG_KEY).expect(401);
    const limited = await api().get('/api/v1/tasks').set('X-API-Key', WRONG_KEY).expect(429);
    expect(limited.body.detail).toMatch(/per client address without a valid API key/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Without API_TRUST_PROXY a made-up X-Forwarded-For does not buy a new budget.
    await api().get('/api/v1/tasks').set('X-Forwarded-For', '198.51.100.7').expect(429);
    await api().get('/docs-json').expect(429);
    await api().get('/health/ready').expect(200);
  });

  it('with API_TRUST_PROXY, limits each forwarded client on its own', async () => {
    const from = (ip: string) => api(proxied).get('/api/v1/tasks').set('X-Forwarded-For', ip);
    for (let i = 0; i < PER_IP; i++) await from('203.0.113.1').expect(401);
    await from('203.0.113.1').expect(429);
    await from('203.0.113.2').expect(401);
    // An IPv6 client is limited by its /64.
    for (let i = 0; i < PER_IP; i++) await from(`2001:db8:0:1::${i + 1}`).expect(401);
    await from('2001:db8:0:1::ffff').expect(429);
  });

  it('logs an authentication failure at most once per source per minute, with the request id and never the key', async () => {
    const output = await captureOutput(async () => {
      const from = (ip: string) => api(proxied).get('/api/v1/tasks/metrics').set('X-Forwarded-For', ip).set('X-API-Key', WRONG_KEY);
      await from('192.0.2.10').set('X-Request-Id', 'first-failure').expect(401);
      await from('192.0.2.10').expect(401);
      await from('192.0.2.10').expect(401);
      await api(proxied).get('/api/v1/tasks').set('X-Forwarded-For', '192.0.2.11').expect(401);
    });
    const lines = linesWith(output, 'Authentication failed');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'WARNING',
      msg: 'Authentication failed source=192.0.2.10 reason=invalid method=GET path=/api/v1/tasks/metrics suppressed=0',
      source: '192.0.2.10',
      reason: 'invalid',
      request_id: 'first-failure',
    });
    expect(lines[1]).toMatch(/source=192\.0\.2\.11 reason=missing/);
    expect(output).not.toContain(WRONG_KEY);
  });

  it('counts limited requests by reason, and authentication failures, in Prometheus', async () => {
    const text = (await api().get('/metrics').expect(200)).text;
    expect(promSum(text, METRIC.httpRateLimited, { reason: 'api_key' })).toBeGreaterThanOrEqual(1);
    expect(promSum(text, METRIC.httpRateLimited, { reason: 'client_ip' })).toBeGreaterThanOrEqual(4);
    expect(promSum(text, METRIC.httpAuthFailures, { reason: 'invalid' })).toBeGreaterThanOrEqual(PER_IP + 3);
    expect(promSum(text, METRIC.httpAuthFailures, { reason: 'missing' })).toBeGreaterThanOrEqual(PER_IP + 1);
  });

  it('keeps its counters in single-key scripts under QUEUE_PREFIX, so a Redis Cluster can hold them', async () => {
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis.url);
    try {
      const keys = (await raw.keys(`${prefix}:ratelimit:*`)).sort();
      expect(keys).toEqual(expect.arrayContaining([`${prefix}:ratelimit:key:key-${keyLabelHex(TEST_API_KEY)}`, `${prefix}:ratelimit:ip:203.0.113.1`]));
      expect(await raw.pttl(keys[0])).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
    }
  });

  it('fails open while Redis is unreachable: every route answers as it would without a limit', async () => {
    await redis.stop();
    await waitFor('the API to see Redis gone', async () => (await api().get('/health/ready')).status === 503, 10_000, 100);
    const started = Date.now();
    // Both budgets are spent, yet nothing gets 429: the key's route answers 503 (its store is away)...
    const withKey = await api().get('/api/v1/tasks').set('X-API-Key', TEST_API_KEY);
    expect([withKey.status, typeof withKey.body.detail]).toEqual([503, 'string']);
    // ...and requests without a key get their 401.
    for (let i = 0; i < 5; i++) await api().get('/api/v1/tasks').set('X-API-Key', WRONG_KEY).expect(401);
    await api().get('/health/live').expect(200);
    expect(Date.now() - started).toBeLessThan(5000);

    // And limits again once Redis is back (on the same port, where the client reconnects).
    redis = await startEmbeddedRedis({ port: redis.port, dataDir });
    await waitFor('the API to reconnect', async () => (await api().get('/health/ready')).status === 200, 15_000, 200);
    // The spent budget was kept with the rest of Redis' data.
    await api().get('/api/v1/tasks').expect(429);
  }, 40_000);
});

/** The label a key without one gets: `key-` and the first 8 hex digits of its SHA-256. */
function keyLabelHex(key: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(key).digest('hex').slice(0, 8);
}
