import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { QueueKeys } from '../../src/tasks/lifecycle/task-keys';
import { GATHER_PAYLOAD_SCHEMA } from '../../src/task-types/automated-gather-creation/payload.schema';
import { BullDriver } from '../support/bull';
import { sha256Hex } from '../../src/config/api-keys';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { TestRedis, startTestRedis } from '../support/redis';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function participants(n: number, slot = 'sat-18'): object[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `u${i}`,
    location: { lat: 52.37 + i * 0.001, lon: 4.89 },
    availability: [slot],
    interests: ['chess'],
  }));
}
const gather = (n = 4) => ({ participants: participants(n), group_size: { min: 2, max: 4 }, max_distance_km: 10 });

describe('Tasks API (real Redis, no worker)', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let queue: Queue;
  let driver: BullDriver;
  let raw: Redis;
  let keys: QueueKeys;

  const api = () => request(app.getHttpServer());
  const post = (body: unknown) => api().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send(body as object);
  const sleepTask = (extra: object = {}) => post({ task_name: 'diagnostic.sleep', payload: { seconds: 1 }, ...extra });

  beforeAll(async () => {
    redis = await startTestRedis();
    const config = testConfig(redis, { API_BODY_LIMIT_MB: '0.05' });
    app = await startApi(config);
    queue = new Queue('{cpu_intensive}', { connection: { url: redis.url }, prefix: redis.prefix });
    driver = new BullDriver(redis);
    keys = new QueueKeys(redis.prefix, 'cpu_intensive');
    raw = new Redis(redis.url);
  });

  afterAll(async () => {
    await queue.close();
    await driver.close();
    raw.disconnect();
    await app.close();
    await redis.stop();
  });

  describe('POST /api/v1/tasks', () => {
    it('queues a task and answers 201 with its id, which is the BullMQ job id', async () => {
      const res = await post({ task_name: 'automated_gather_creation', payload: gather() }).expect(201);
      expect(res.body).toEqual({
        task_id: expect.stringMatching(UUID),
        task_name: 'automated_gather_creation',
        status: 'pending',
        queue: 'cpu_intensive',
        submitted_at: expect.any(String),
      });
      expect(new Date(res.body.submitted_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
      const job = await queue.getJob(res.body.task_id);
      expect(job?.name).toBe('automated_gather_creation');
      expect(job?.data.payload).toEqual(gather());
      // Attempts and backoff come from the policy: TASK_MAX_RETRIES=3 gives 4 attempts.
      expect(job?.opts.attempts).toBe(4);
      expect(job?.opts.backoff).toEqual({ type: 'sluice' });
    });

    // A body that is exactly {task_name, payload} is stored as it came (common/task-data-text.ts);
    // any other shape is serialised again. Either way the job's data means what the body meant.
    it('stores a body of exactly task_name and payload as its job data, as sent; one with options as task_name and payload only', async () => {
      const text = '{ "payload" : {"sec\\u006fnds": 1.50, "progress_steps": 4},\n  "task_name": "diagnostic.sleep" }';
      const sent = await api().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).set('Content-Type', 'application/json').send(text).expect(201);
      expect(await raw.hget(keys.job(sent.body.task_id), 'data')).toBe(text);
      // What the worker's BullMQ job gives the handler.
      expect((await queue.getJob(sent.body.task_id))?.data).toEqual({ task_name: 'diagnostic.sleep', payload: { seconds: 1.5, progress_steps: 4 } });

      // Fastify's parser skips a leading byte order mark, which JSON.parse would refuse.
      const bom = await api().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).set('Content-Type', 'application/json').send(`\ufeff${text}`).expect(201);
      expect(await raw.hget(keys.job(bom.body.task_id), 'data')).toBe(text);
      expect((await queue.getJob(bom.body.task_id))?.data.payload).toEqual({ seconds: 1.5, progress_steps: 4 });

      const withOptions = await sleepTask({ options: { priority: 2 } }).expect(201);
      expect(JSON.parse((await raw.hget(keys.job(withOptions.body.task_id), 'data'))!)).toEqual({ task_name: 'diagnostic.sleep', payload: { seconds: 1 } });
    });

    it('answers 400 for a body that is not JSON', async () => {
      const res = await api()
        .post('/api/v1/tasks')
        .set('X-API-Key', TEST_API_KEY)
        .set('Content-Type', 'application/json')
        .send('{"task_name": ')
        .expect(400);
      expect(typeof res.body.detail).toBe('string');
    });

    it.each([
      ['no task_name', { payload: {} }, /task_name/],
      ['a task_name that is not a string', { task_name: 5 }, /task_name/],
      ['a payload that is not an object', { task_name: 'diagnostic.sleep', payload: [1] }, /payload/],
      ['an unknown top-level field', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, extra: 1 }, /extra/],
      ['a priority of 0', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { priority: 0 } }, /priority/],
      ['a negative delay', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { delay_seconds: -1 } }, /delay_seconds/],
    ])('answers 422 for %s', async (_what, body, pattern) => {
      const res = await post(body).expect(422);
      expect(res.body.detail).toMatch(pattern);
    });

    it('answers 422 for a payload invalid for its task type, naming the field', async () => {
      const bad = gather();
      (bad.participants[1] as { location: { lat: number } }).location.lat = 123;
      const res = await post({ task_name: 'automated_gather_creation', payload: bad }).expect(422);
      expect(res.body.detail).toMatch(/payload\.participants\[1\]\.location\.lat/);
      const dup = gather();
      (dup.participants[2] as { id: string }).id = 'u0';
      expect((await post({ task_name: 'automated_gather_creation', payload: dup }).expect(422)).body.detail).toMatch(/unique/);
      const res2 = await post({ task_name: 'diagnostic.memory', payload: { mb: 'lots' } }).expect(422);
      expect(res2.body.detail).toMatch(/payload\.mb/);
    });

    it('answers 422 for an unknown task_name, listing the known names', async () => {
      const res = await post({ task_name: 'nope', payload: {} }).expect(422);
      expect(res.body.detail).toContain("Unknown task_name 'nope'");
      for (const name of ['automated_gather_creation', 'diagnostic.sleep', 'diagnostic.cpu', 'diagnostic.crash']) {
        expect(res.body.detail).toContain(name);
      }
    });

    it('answers 413 for a body over API_BODY_LIMIT_MB and keeps nothing', async () => {
      const before = await raw.get(keys.sequence);
      const res = await post({ task_name: 'automated_gather_creation', payload: gather(1000) }).expect(413);
      expect(typeof res.body.detail).toBe('string');
      expect(await raw.get(keys.sequence)).toBe(before);
    });

    it('returns the existing task with 200 for a repeated idempotency_key, and 409 when the request differs', async () => {
      const body = { task_name: 'diagnostic.sleep', payload: { seconds: 1, }, options: { idempotency_key: 'order-42' } };
      const first = await post(body).expect(201);
      const again = await post({ ...body, payload: { seconds: 1 } }).expect(200);
      expect(again.body.task_id).toBe(first.body.task_id);
      expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBeGreaterThan(0);
      const conflict = await post({ ...body, payload: { seconds: 2 } }).expect(409);
      expect(conflict.body.detail).toContain(first.body.task_id);
      await post({ ...body, task_name: 'diagnostic.cpu' }).expect(409);
    });

    it('holds a delayed task back as pending, with next_retry_at null', async () => {
      const res = await sleepTask({ options: { delay_seconds: 60 } }).expect(201);
      const job = await queue.getJob(res.body.task_id);
      expect(job?.opts.delay).toBe(60_000);
      expect(await job?.isDelayed()).toBe(true);
      const status = await api().get(`/api/v1/tasks/${res.body.task_id}`).set('X-API-Key', TEST_API_KEY).expect(200);
      expect(status.body.status).toBe('pending');
      expect(status.body.next_retry_at).toBeNull();
    });

    it('passes priority to BullMQ, where 1 is the highest', async () => {
      const low = await sleepTask({ options: { priority: 10 } }).expect(201);
      const high = await sleepTask({ options: { priority: 1 } }).expect(201);
      expect((await queue.getJob(high.body.task_id))?.opts.priority).toBe(1);
      const prioritized = await queue.getPrioritized(0, -1);
      const ids = prioritized.map((j) => j.id);
      expect(ids.indexOf(high.body.task_id)).toBeLessThan(ids.indexOf(low.body.task_id));
    });

    it('accepts the default 16 MiB scale: 100,000 gather participants fit', () => {
      const bytes = Buffer.byteLength(JSON.stringify({ task_name: 'automated_gather_creation', payload: { ...gather(), participants: participants(100_000) } }));
      expect(bytes).toBeLessThan(16 * 1024 * 1024);
    });
  });

  describe('GET /api/v1/tasks/:id', () => {
    it('returns the full status shape of a pending task', async () => {
      const { body } = await sleepTask().expect(201);
      const res = await api().get(`/api/v1/tasks/${body.task_id}`).set('X-API-Key', TEST_API_KEY).expect(200);
      expect(res.body).toEqual({
        task_id: body.task_id,
        task_name: 'diagnostic.sleep',
        queue: 'cpu_intensive',
        status: 'pending',
        progress: 0,
        attempts: 0,
        max_retries: 3,
        time_limit: 600,
        soft_time_limit: 540,
        callback: null,
        submitted_at: body.submitted_at,
        started_at: null,
        finished_at: null,
        duration_seconds: null,
        result: null,
        error: null,
        cancelled_at: null,
        next_retry_at: null,
        submitted_by: `key-${sha256Hex(TEST_API_KEY).slice(0, 8)}`,
        attempt_history: [],
      });
    });

    it.each(['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '..%2F..', 'a'.repeat(300)])('answers 404 for %s', async (id) => {
      const res = await api().get(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY).expect(404);
      expect(res.body).toEqual({ detail: 'Task not found' });
    });

    it('answers 500 without a stack when a stored record is corrupt', async () => {
      const { body } = await sleepTask().expect(201);
      await raw.hset(keys.job(body.task_id), 'sst', 'completed', 'returnvalue', '{not json');
      const res = await api().get(`/api/v1/tasks/${body.task_id}`).set('X-API-Key', TEST_API_KEY).expect(500);
      expect(res.body).toEqual({ detail: 'Internal server error' });
    });
  });

  describe('GET /api/v1/tasks', () => {
    let ids: string[];
    beforeAll(async () => {
      ids = [];
      for (let i = 0; i < 5; i++) ids.push((await post({ task_name: 'diagnostic.fail', payload: { message: `m${i}` } }).expect(201)).body.task_id);
    });
    const list = (q: string) => api().get(`/api/v1/tasks?${q}`).set('X-API-Key', TEST_API_KEY);

    it('lists newest first and pages with next_cursor', async () => {
      const first = await list('task_name=diagnostic.fail&limit=2').expect(200);
      expect(first.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([ids[4], ids[3]]);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const second = await list(`task_name=diagnostic.fail&limit=2&cursor=${first.body.next_cursor}`).expect(200);
      expect(second.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([ids[2], ids[1]]);
      const third = await list(`task_name=diagnostic.fail&limit=2&cursor=${second.body.next_cursor}`).expect(200);
      expect(third.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([ids[0]]);
      expect(third.body.next_cursor).toBeNull();
    });

    it('filters by status and by task_name together', async () => {
      await api().delete(`/api/v1/tasks/${ids[2]}`).set('X-API-Key', TEST_API_KEY).expect(200);
      const cancelled = await list('status=cancelled&task_name=diagnostic.fail').expect(200);
      expect(cancelled.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([ids[2]]);
      const pending = await list('status=pending&task_name=diagnostic.fail&limit=100').expect(200);
      expect(pending.body.items).toHaveLength(4);
      expect(pending.body.items.every((t: { status: string }) => t.status === 'pending')).toBe(true);
    });

    it('defaults to 20 items', async () => {
      for (let i = 0; i < 21; i++) await sleepTask().expect(201);
      expect((await list('').expect(200)).body.items).toHaveLength(20);
    });

    it.each(['limit=0', 'limit=101', 'limit=abc', 'status=running', 'cursor=xyz', 'unknown=1'])('answers 422 for %s', async (q) => {
      const res = await list(q).expect(422);
      expect(typeof res.body.detail).toBe('string');
    });
  });

  describe('DELETE /api/v1/tasks/:id', () => {
    const del = (id: string) => api().delete(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY);

    it('removes a pending task from the queue and records the revocation', async () => {
      const { body } = await sleepTask().expect(201);
      const res = await del(body.task_id).expect(200);
      expect(res.body).toEqual({
        task_id: body.task_id,
        status: 'cancelled',
        message: 'Task was pending and has been removed from the queue',
        previous_state: 'pending',
        cancelled_at: expect.any(String),
      });
      // Out of every waiting structure, and kept (payload included) in BullMQ's failed set.
      expect(await queue.getJobState(body.task_id)).toBe('failed');
      expect((await queue.getJob(body.task_id))?.data).toEqual({ task_name: 'diagnostic.sleep', payload: expect.any(Object) });
      const status = await api().get(`/api/v1/tasks/${body.task_id}`).set('X-API-Key', TEST_API_KEY).expect(200);
      expect(status.body.status).toBe('cancelled');
      expect(status.body.cancelled_at).toBe(res.body.cancelled_at);

      const again = await del(body.task_id).expect(200);
      expect(again.body).toEqual({ ...res.body, message: 'Task was already cancelled', previous_state: 'cancelled' });
    });

    it('removes a task that waits to retry', async () => {
      const { body } = await sleepTask().expect(201);
      // Drive the task as a worker would: one run that failed and was scheduled to retry.
      const job = await driver.take('run-1', body.task_id);
      await job.moveToFailed(new Error('Boom: first run'), 'run-1');
      expect(await queue.getJobState(body.task_id)).toBe('delayed');
      const res = await del(body.task_id).expect(200);
      expect(res.body.previous_state).toBe('retrying');
      expect(res.body.message).toBe('Task was waiting to retry and has been removed from the queue');
    });

    it.each([
      ['completed', 'Task has already completed successfully and cannot be cancelled'],
      ['failed', 'Task has already failed and cannot be cancelled'],
    ] as const)('answers 400 for a %s task', async (to, detail) => {
      const { body } = await sleepTask().expect(201);
      const job = await driver.take('run-1', body.task_id);
      if (to === 'completed') await job.moveToCompleted({ ok: true }, 'run-1', false);
      else await job.moveToFailed(new UnrecoverableError('Boom: final'), 'run-1');
      expect((await del(body.task_id).expect(400)).body).toEqual({ detail });
    });

    it('answers 404 for an unknown task', async () => {
      expect((await del('00000000-0000-4000-8000-000000000000').expect(404)).body).toEqual({ detail: 'Task not found' });
      await del('garbage').expect(404);
    });

    it('answers 202 for a running task that no worker confirms, and keeps the revocation', async () => {
      const { body } = await sleepTask().expect(201);
      await driver.take('run-1', body.task_id);
      const res = await del(body.task_id).expect(202);
      expect(res.body).toEqual({ task_id: body.task_id, status: 'cancelling', message: 'Termination requested', previous_state: 'processing' });
      expect(await raw.hexists(keys.job(body.task_id), 'scx')).toBe(1);
    });
  });

  describe('authentication', () => {
    it.each([
      ['get', '/api/v1/tasks'],
      ['post', '/api/v1/tasks'],
      ['get', '/api/v1/tasks/00000000-0000-4000-8000-000000000000'],
      ['delete', '/api/v1/tasks/00000000-0000-4000-8000-000000000000'],
    ] as const)('rejects %s %s without a key or with a wrong one', async (method, path) => {
      const none = await api()[method](path).expect(401);
      expect(none.body).toEqual({ detail: 'Invalid or missing API key' });
      const wrong = await api()[method](path).set('X-API-Key', `${TEST_API_KEY}x`).expect(401);
      expect(wrong.body).toEqual({ detail: 'Invalid or missing API key' });
    });

    it('accepts any of the configured keys', async () => {
      await api().get('/api/v1/tasks').set('X-API-Key', 'second-key-abcdefghijkl').expect(200);
    });

    it('leaves probes and docs open', async () => {
      await api().get('/health/live').expect(200);
      await api().get('/health/ready').expect(200);
      await api().get('/docs-json').expect(200);
    });
  });

  describe('errors and docs', () => {
    it('answers unknown routes with 404 {detail}; under /api only once the key is checked', async () => {
      const res = await api().get('/api/v2/nothing').set('X-API-Key', TEST_API_KEY).expect(404);
      expect(res.body).toEqual({ detail: expect.any(String) });
      // The key is checked before routing, so an unauthenticated caller learns nothing of /api's paths.
      expect((await api().get('/api/v2/nothing').expect(401)).body).toEqual({ detail: 'Invalid or missing API key' });
      expect((await api().get('/nothing').expect(404)).body).toEqual({ detail: expect.any(String) });
    });

    it('answers 415 {detail} for an unsupported content type', async () => {
      const res = await api().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).set('Content-Type', 'application/xml').send('<a/>');
      expect(res.status).toBe(415);
      expect(typeof res.body.detail).toBe('string');
    });

    it('describes every route, its error statuses and the X-API-Key scheme in OpenAPI', async () => {
      const doc = (await api().get('/docs-json').expect(200)).body;
      expect(doc.components.securitySchemes['api-key']).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
      const tasks = doc.paths['/api/v1/tasks'];
      const one = doc.paths['/api/v1/tasks/{task_id}'];
      // 415 (not JSON) on the POST routes, and 408, 429 (rate limit) and 431 everywhere, since the front door answers them.
      expect(Object.keys(tasks.post.responses).sort()).toEqual(['200', '201', '400', '401', '408', '409', '413', '415', '422', '429', '431', '503']);
      expect(Object.keys(one.delete.responses).sort()).toEqual(['200', '202', '400', '401', '404', '408', '429', '431', '503']);
      expect(Object.keys(one.get.responses).sort()).toEqual(expect.arrayContaining(['200', '401', '404', '408', '429', '431', '503']));
      expect(Object.keys(tasks.get.responses).sort()).toEqual(['200', '401', '408', '422', '429', '431', '503']);
      expect(tasks.post.security).toEqual([{ 'api-key': [] }]);
      expect(tasks.post.requestBody.content['application/json'].schema.$ref).toMatch(/SubmitTaskDto/);
      expect(doc.components.schemas.TaskStatusBase.properties).toHaveProperty('next_retry_at');
      // Each type's payload: the same schema object its validator was compiled from.
      expect(doc.components.schemas.AutomatedGatherCreationPayload).toEqual(JSON.parse(JSON.stringify(GATHER_PAYLOAD_SCHEMA)));
      expect(doc.components.schemas.DiagnosticSleepPayload.required).toEqual(['seconds']);
      expect(doc.components.schemas.SubmitAutomatedGatherCreation.properties.payload).toEqual({ $ref: '#/components/schemas/AutomatedGatherCreationPayload' });
      expect(doc.paths['/health/ready']).toBeDefined();
      const html = await api().get('/docs').redirects(1);
      expect(html.status).toBe(200);
      expect(html.text).toContain('swagger');
    });
  });
});
