import { NestFastifyApplication } from '@nestjs/platform-fastify';
import fastify from 'fastify';
import request from 'supertest';
import { edgeAdapterOptions } from '../../src/edge/adapter-options';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { linesWith } from '../support/faults';
import { captureOutput } from '../support/output';
import { listenLocal, median, rawExchange, sendWholeThenRead, timedRequest, timedRequestsFromChild } from '../support/raw-http';
import { TestRedis, startTestRedis } from '../support/redis';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WRONG_KEY = 'wrong-key-must-never-be-logged-0123';
// Senders of 12 MB bodies run as processes of their own, which takes a while on a loaded machine.
jest.setTimeout(30_000);

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('The front door (auth before the body, limits, error shapes, headers)', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let port: number;
  const api = () => request(app.getHttpServer());
  const withKey = (r: request.Test) => r.set('X-API-Key', TEST_API_KEY);

  beforeAll(async () => {
    redis = await startTestRedis();
    // The per-IP limit is rate-limit.e2e-spec's subject; here it would only get in the way.
    app = await startApi(testConfig(redis, { RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0', LOG_LEVEL: 'warn' }));
    port = await listenLocal(app);
  });

  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  describe('authentication runs before the body is read', () => {
    it('answers a 12 MB body with a wrong key 401 in under 50 ms (median of 5), without parsing it', async () => {
      // Not JSON at all: a parsed body would get 400, so 401 shows it was never parsed. One warm-up
      // answer, then five timed ones, sent by a process of their own as a remote client would be.
      // Its connections are kept alive, so no reset races the answer (see timedRequestsFromChild);
      // an attempt that still met one is sent again.
      const attempts = await timedRequestsFromChild(port, 6, 'POST', '/api/v1/tasks', { 'content-type': 'application/json', 'x-api-key': WRONG_KEY }, 12 * 1024 * 1024);
      const answered = attempts.filter((r) => r.status !== 0);
      for (const res of attempts) expect(res.status === 0 ? ['reset', res.body] : [res.status, JSON.parse(res.body)]).toEqual(res.status === 0 ? ['reset', expect.stringMatching(/EPIPE|ECONNRESET/)] : [401, { detail: 'Invalid or missing API key' }]);
      const times = answered.slice(1).map((r) => r.ms);
      expect(times.length).toBe(5);
      process.stdout.write(`front door: 12 MB body, wrong key: 401 after ${times.map((t) => t.toFixed(1)).join(', ')} ms (${attempts.length - answered.length} resets)\n`);
      expect(median(times)).toBeLessThan(50);
    });

    it('refuses before the content type is looked at, and on every /api route, 404s included', async () => {
      const xml = (await timedRequestsFromChild(port, 1, 'POST', '/api/v1/tasks/batch', { 'content-type': 'application/xml' }, 12 * 1024 * 1024)).at(-1);
      expect(xml?.status).toBe(401);
      for (const [method, path] of [['GET', '/api/v1/tasks/metrics'], ['GET', '/api/v1/tasks/health'], ['PUT', '/api/v1/tasks'], ['GET', '/api/v1/nothing'], ['GET', '/api/%761/tasks']]) {
        const res = await api()[method.toLowerCase() as 'get' | 'put'](path);
        expect([method, path, res.status, res.body]).toEqual([method, path, 401, { detail: 'Invalid or missing API key' }]);
      }
    });

    it('lets a key holder that sends its whole body before reading read a 413 or 415 (a lingering close, not a reset)', async () => {
      // The answer comes before the body is read, and the connection then closes: without a
      // lingering close, the unread body made the kernel reset it, and such a client (Python's
      // http.client, requests) saw "Broken pipe" instead of the answer. A wrong key's 401 still
      // closes at once: reading its body is what the 401 spares.
      const head = (type: string, bytes: number, connection: string) =>
        `POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Length: ${bytes}\r\nConnection: ${connection}\r\n\r\n`;
      const MB = 1024 * 1024;
      const cases: [string, number, RegExp][] = [
        // Over API_BODY_LIMIT_MB (16): refused on its Content-Length, before a byte of it is read.
        ['application/json', 20 * MB, /^HTTP\/1\.1 413 [\s\S]*\r\n\r\n\{"detail":"Request body is too large"\}$/],
        ['text/plain', 12 * MB, /^HTTP\/1\.1 415 [\s\S]*\r\n\r\n\{"detail":"[^"]+"\}$/],
      ];
      for (const connection of ['close', 'keep-alive']) {
        for (const [type, bytes, reply] of cases) {
          const res = await sendWholeThenRead(port, head(type, bytes, connection), bytes);
          expect([connection, type, res.error, res.reply]).toEqual([connection, type, undefined, expect.stringMatching(reply)]);
        }
      }
    });

    it('leaves the probes, /docs and /metrics open by default', async () => {
      await api().get('/health/live').expect(200);
      await api().get('/health/ready').expect(200);
      await api().get('/docs-json').expect(200);
      await api().get('/metrics').expect(200);
    });
  });

  describe('body limits by route', () => {
    const body = (bytes: number) => ({ task_name: 'diagnostic.sleep', payload: { seconds: 0, pad: 'x'.repeat(bytes) } });

    it('lets a submit route take more than 64 KiB: the 1 MiB body reaches validation', async () => {
      const one = await withKey(api().post('/api/v1/tasks')).send(body(1024 * 1024)).expect(422);
      expect(one.body.detail).toMatch(/pad/);
      const batch = await withKey(api().post('/api/v1/tasks/batch')).send({ tasks: [body(1024 * 1024)] }).expect(200);
      expect(batch.body.items[0].status_code).toBe(422);
    });

    it('answers 413 {detail} for more than 64 KiB on any other route', async () => {
      const big = JSON.stringify(body(65 * 1024));
      // (A GET's body is never parsed at all.)
      for (const [method, path] of [['DELETE', '/api/v1/tasks/00000000-0000-4000-8000-000000000000'], ['POST', '/api/v1/nothing']]) {
        const res = await timedRequest(port, method, path, { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, Buffer.from(big));
        expect([method, path, res.status]).toEqual([method, path, 413]);
        expect(typeof JSON.parse(res.body).detail).toBe('string');
      }
    });
  });

  describe('every error is JSON {"detail"}', () => {
    const expectDetail = (res: { status: number; headers: Record<string, unknown>; body: unknown }, status: number) => {
      expect(res.status).toBe(status);
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
      expect(res.body).toEqual({ detail: expect.any(String) });
    };

    it('answers 400 for malformed JSON, an empty JSON body and a __proto__ key', async () => {
      for (const text of ['{"task_name": ', '', '{"task_name":"x","__proto__":{"polluted":1}}']) {
        expectDetail(await withKey(api().post('/api/v1/tasks')).set('Content-Type', 'application/json').send(text), 400);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('answers 415 for a body that is not JSON on the POST routes: form-encoded, text, XML', async () => {
      for (const path of ['/api/v1/tasks', '/api/v1/tasks/batch']) {
        // supertest, like curl -d, sends a string as form-encoded
        expectDetail(await withKey(api().post(path)).send('task_name=x'), 415);
        expectDetail(await withKey(api().post(path)).set('Content-Type', 'text/plain').send('{"task_name":"x"}'), 415);
        expectDetail(await withKey(api().post(path)).set('Content-Type', 'application/xml').send('<a/>'), 415);
      }
    });

    it('answers 405 with Allow for a known path called with another method, after the key check', async () => {
      const put = await withKey(api().put('/api/v1/tasks')).send({});
      expectDetail(put, 405);
      expect(put.headers.allow).toBe('GET, HEAD, POST');
      const patch = await withKey(api().patch('/api/v1/tasks/abc')).send({});
      expectDetail(patch, 405);
      expect(patch.headers.allow).toBe('DELETE, GET, HEAD');
      const probe = await api().post('/health/live').send({});
      expectDetail(probe, 405);
      expect(probe.headers.allow).toBe('GET, HEAD');
      expectDetail(await withKey(api().put('/api/v1/nothing')), 404);
    });

    it('answers 422 before validation for JSON nested deeper than API_JSON_MAX_DEPTH, never 500, and logs no stack', async () => {
      const output = await captureOutput(async () => {
        for (const text of [
          // the probes: 5,000 levels of objects (about 30 KB), 1,500 of arrays
          `{"task_name":"diagnostic.sleep","payload":${nested(5000)}}`,
          `{"task_name":"diagnostic.sleep","payload":{"a":${'['.repeat(1500)}${']'.repeat(1500)}}}`,
          `{"task_name":"diagnostic.sleep","payload":${nested(64)}}`,
        ]) {
          const res = await withKey(api().post('/api/v1/tasks')).set('Content-Type', 'application/json').send(text);
          expectDetail(res, 422);
          expect(res.body.detail).toBe('JSON nested deeper than 64 levels (API_JSON_MAX_DEPTH)');
        }
        const batch = await withKey(api().post('/api/v1/tasks/batch')).set('Content-Type', 'application/json').send(`{"tasks":[${nested(3000)}]}`);
        expectDetail(batch, 422);
        // 63 levels inside the body object: within the limit, so validation answers.
        const within = await withKey(api().post('/api/v1/tasks')).set('Content-Type', 'application/json').send(`{"task_name":"diagnostic.sleep","payload":${nested(62)}}`);
        expectDetail(within, 422);
        expect(within.body.detail).toMatch(/^Validation failed|payload/);
      });
      expect(linesWith(output, '    at ')).toEqual([]);
      expect(linesWith(output, 'ERROR')).toEqual([]);
    });

    it("answers Fastify's own refusals in shape: 431 for big headers, 414 for a long id, 400 for a bad URL", async () => {
      const output = await captureOutput(async () => {
        expectDetail(await api().get('/health/live').set('X-Big', 'a'.repeat(20_000)), 431);
        expectDetail(await withKey(api().get(`/api/v1/tasks/${'a'.repeat(1100)}`)), 414);
        expectDetail(await withKey(api().get('/api/v1/tasks/%ff')), 400);
        expectDetail(await api().get('/%ff'), 400);
        // Bytes that are not HTTP at all: Node's parser refuses them.
        const garbage = rawExchange(port, 'NOT HTTP\r\n\r\n');
        const { reply } = await garbage.closed;
        expect(reply).toMatch(/^HTTP\/1\.1 400 /);
        expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toEqual({ detail: expect.any(String) });
      });
      expect(linesWith(output, '    at ')).toEqual([]);
    });

    it('answers 404 for unknown routes and 401 for a missing key in shape', async () => {
      expectDetail(await api().get('/nothing'), 404);
      expectDetail(await api().get('/api/v1/tasks'), 401);
      expectDetail(await withKey(api().get('/api/v1/tasks/00000000-0000-4000-8000-000000000000')), 404);
    });
  });

  describe('headers', () => {
    it('puts helmet headers with the API policy on every response, errors included', async () => {
      for (const res of [
        await withKey(api().get('/api/v1/tasks')),
        await api().get('/api/v1/tasks'),
        await api().get('/nothing'),
        await api().get('/health/live'),
        await withKey(api().put('/api/v1/tasks')),
        await withKey(api().get(`/api/v1/tasks/${'a'.repeat(1100)}`)),
        await api().get('/health/live').set('X-Big', 'a'.repeat(20_000)),
      ]) {
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
        expect(res.headers['x-frame-options']).toBe('DENY');
      }
    });

    it("gives /docs a policy under which Swagger UI's own scripts and styles load", async () => {
      const page = await api().get('/docs');
      expect(page.status).toBe(200);
      const csp = page.headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect((await api().get('/docs/swagger-ui.css')).headers['content-security-policy']).toBe(csp);
    });

    it('carries X-Request-Id: the caller’s when it is plain and short, a new UUID otherwise', async () => {
      expect((await api().get('/health/live')).headers['x-request-id']).toMatch(UUID);
      expect((await api().get('/health/live').set('X-Request-Id', 'trace-42.a_b:c')).headers['x-request-id']).toBe('trace-42.a_b:c');
      expect((await api().get('/nothing').set('X-Request-Id', 'trace-43')).headers['x-request-id']).toBe('trace-43');
      for (const bad of ['a'.repeat(129), 'has space', 'semi;colon', '"quoted"']) {
        expect((await api().get('/health/live').set('X-Request-Id', bad)).headers['x-request-id']).toMatch(UUID);
      }
      const raw = await timedRequest(port, 'GET', `/api/v1/tasks/${'a'.repeat(1100)}`, { 'x-request-id': 'trace-44' });
      expect(raw.headers['x-request-id']).toBe('trace-44');
      expect((await api().get('/health/live').set('X-Big', 'a'.repeat(20_000))).headers['x-request-id']).toMatch(UUID);
    });
  });
});

describe('The front door: /docs and /metrics by configuration', () => {
  let redis: TestRedis;
  afterAll(async () => redis?.stop());
  beforeAll(async () => {
    redis = await startTestRedis();
  });

  it.each([
    ['key', 'off', 401, 404],
    ['off', 'key', 404, 401],
  ])('API_DOCS_ACCESS=%s API_METRICS_ACCESS=%s', async (docs, metrics, docsStatus, metricsStatus) => {
    const app = await startApi(testConfig(redis, { API_DOCS_ACCESS: docs, API_METRICS_ACCESS: metrics, RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0' }));
    try {
      const api = () => request(app.getHttpServer());
      for (const path of ['/docs', '/docs-json', '/docs/swagger-ui.css']) {
        const res = await api().get(path);
        expect([path, res.status, res.body]).toEqual([path, docsStatus, { detail: expect.any(String) }]);
      }
      const m = await api().get('/metrics');
      expect([m.status, m.body]).toEqual([metricsStatus, { detail: expect.any(String) }]);
      if (docs === 'key') expect((await api().get('/docs-json').set('X-API-Key', TEST_API_KEY)).status).toBe(200);
      if (metrics === 'key') expect((await api().get('/metrics').set('X-API-Key', TEST_API_KEY)).text).toContain('sluice_http_auth_failures_total');
      await api().get('/health/ready').expect(200);
    } finally {
      await app.close();
    }
  });
});

describe('The front door: receive timeouts', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let port: number;
  const env = { API_HEADERS_TIMEOUT: '0.5', API_REQUEST_TIMEOUT: '1', API_KEEPALIVE_TIMEOUT: '0.5' };

  beforeAll(async () => {
    redis = await startTestRedis();
    app = await startApi(testConfig(redis, env));
    port = await listenLocal(app);
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  const reply408 = (reply: string) => {
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toEqual({ detail: 'Request timeout: the request was not received in time' });
  };

  it('closes a connection whose headers do not arrive within API_HEADERS_TIMEOUT, with 408 {detail}', async () => {
    const slow = rawExchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n');
    const { reply, ms } = await slow.closed;
    reply408(reply);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1500);
  });

  it('closes a connection whose body does not arrive within API_REQUEST_TIMEOUT', async () => {
    const slow = rawExchange(port, `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"task_`);
    const { reply, ms } = await slow.closed;
    reply408(reply);
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(2500);
  });

  it('closes an idle kept-alive connection after API_KEEPALIVE_TIMEOUT', async () => {
    const idle = rawExchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    const { reply, ms } = await idle.closed;
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2000);
  });

  it('never cuts a slow answer: the timeouts bound receiving only', async () => {
    // A route that answers after twice API_REQUEST_TIMEOUT, on a listener with the API's own options
    // (Sluice has no slow route yet; long polls and event streams of later issues will be).
    const config = testConfig(redis, env);
    const server = fastify(edgeAdapterOptions(config.server, 1024));
    server.get('/slow', async () => {
      await new Promise((r) => setTimeout(r, 2000));
      return { ok: true };
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await timedRequest((server.server.address() as { port: number }).port, 'GET', '/slow', {});
      expect(res.status).toBe(200);
      expect(res.ms).toBeGreaterThanOrEqual(1990);
    } finally {
      await server.close();
    }
  });
});
