import request from 'supertest';
import { freePort } from '../../src/app/embedded-redis';
import { Spawned, spawnEntry } from '../support/process';
import { TestRedis, startTestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

const KEY = 'logging-key-0123456789abcdef';
const BASIC_SECRET = 'basic-secret-fedcba9876543210';

type Line = Record<string, unknown> & { time: string; level: string; msg: string };

/** Every line of the output parsed as JSON; a line that is not JSON fails the test. */
function jsonLines(out: string): Line[] {
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`Not a JSON log line: ${l}`);
      }
    });
}

/**
 * The production entry points, as Kubernetes runs them (LOG_FORMAT unset, stdout a pipe): every line
 * is one JSON object in the documented shape, each request gets one access-log line, and no key
 * reaches the logs in any header.
 */
describe('structured logs (node dist/main.js and dist/worker.js, LOG_FORMAT=json by default)', () => {
  let redis: TestRedis;
  let api: Spawned;
  let worker: Spawned;
  let port: number;

  beforeAll(async () => {
    redis = await startTestRedis();
    port = await freePort();
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, API_KEYS: `ops:${KEY}`, ENABLE_DIAGNOSTIC_TASKS: 'true' };
    api = spawnEntry('main.ts', { ...env, PORT: String(port) });
    worker = spawnEntry('worker.ts', { ...env, WORKER_PORT: String(await freePort()), WORKER_CONCURRENCY: '1' });
    await waitFor('the API', () => /API listening/.test(api.output()), 20_000);
    await waitFor('the worker', () => /Worker consuming/.test(worker.output()), 20_000);
  }, 30_000);

  afterAll(async () => {
    for (const p of [api, worker]) if (p?.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all([api?.exited, worker?.exited]);
    await redis.stop();
  });

  it('writes one JSON object per line, with time, level, msg and context, and no ANSI code', () => {
    for (const line of [...jsonLines(api.output()), ...jsonLines(worker.output())]) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['time', 'level', 'msg', 'context']));
      expect(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']).toContain(line.level);
    }
    expect(api.output() + worker.output()).not.toContain('\x1b');
    // Nest's module-loading chatter is at debug, below the default level.
    expect(api.output()).not.toMatch(/InstanceLoader|RouterExplorer|RoutesResolver/);
  });

  it("logs the seed's task lines with their fields as keys", async () => {
    const http = request(`http://127.0.0.1:${port}`);
    const { body } = await http.post('/api/v1/tasks').set('X-API-Key', KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0.05 } }).expect(201);
    const taskId = (body as { task_id: string }).task_id;
    const completed = await waitFor('Task completed', () => jsonLines(worker.output()).find((l) => l.task_id === taskId && l.msg.startsWith('Task completed')), 15_000);
    const started = jsonLines(worker.output()).find((l) => l.task_id === taskId && l.msg.startsWith('Task started'))!;
    expect(started).toMatchObject({ level: 'INFO', msg: `Task started task_id=${taskId} task_name=diagnostic.sleep`, task_name: 'diagnostic.sleep' });
    expect(completed).toMatchObject({ level: 'INFO', state: 'SUCCESS' });
    expect(completed.msg).toMatch(new RegExp(`^Task completed task_id=${taskId} duration=[\\d.]+ state=SUCCESS$`));
    expect(typeof completed.duration).toBe('number');
  });

  it('writes one access-log line per request, with method, route, status, duration, request id and key label, and never a key', async () => {
    const http = request(`http://127.0.0.1:${port}`);
    const before = jsonLines(api.output()).length;
    await http.get('/api/v1/tasks/metrics').set('X-API-Key', KEY).set('X-Request-Id', 'log-req-1').expect(200);
    await http.get('/api/v1/tasks/00000000-0000-4000-8000-000000000000').set('X-API-Key', KEY).set('Authorization', `Basic ${Buffer.from(`u:${BASIC_SECRET}`).toString('base64')}`).set('X-Request-Id', 'log-req-2').expect(404);
    await http.get('/api/v1/tasks').set('X-API-Key', `${KEY}-wrong`).set('X-Request-Id', 'log-req-3').expect(401);
    await http.get('/health/live').set('X-Request-Id', 'log-req-4').expect(200);
    const access = await waitFor('four access lines', () => {
      const lines = jsonLines(api.output()).slice(before).filter((l) => l.context === 'HTTP');
      return lines.length >= 4 ? lines : undefined;
    }, 5000);
    expect(access).toHaveLength(4);
    expect(access.map((l) => [l.request_id, l.method, l.route, l.status, l.key_label])).toEqual([
      ['log-req-1', 'GET', '/api/v1/tasks/metrics', 200, 'ops'],
      ['log-req-2', 'GET', '/api/v1/tasks/:task_id', 404, 'ops'],
      ['log-req-3', 'GET', '/api/v1/tasks', 401, undefined],
      ['log-req-4', 'GET', '/health/live', 200, undefined],
    ]);
    for (const l of access) {
      expect(l.level).toBe('INFO');
      expect(typeof l.duration_ms).toBe('number');
      expect(l.msg).toMatch(/^HTTP request method=GET route=\S+ status=\d{3} duration_ms=[\d.]+/);
    }
    const out = api.output() + worker.output();
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(BASIC_SECRET);
    expect(out).not.toContain(Buffer.from(`u:${BASIC_SECRET}`).toString('base64'));
  });
});
