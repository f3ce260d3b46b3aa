import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import request from 'supertest';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { TestRedis, startTestRedis } from '../support/redis';

describe('POST /api/v1/tasks/batch', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let queue: Queue;
  const batch = (body: unknown) => request(app.getHttpServer()).post('/api/v1/tasks/batch').set('X-API-Key', TEST_API_KEY).send(body as object);

  beforeAll(async () => {
    redis = await startTestRedis();
    app = await startApi(testConfig(redis));
    queue = new Queue('{cpu_intensive}', { connection: { url: redis.url }, prefix: redis.prefix });
  });
  afterAll(async () => {
    await queue.close();
    await app.close();
    await redis.stop();
  });

  it('queues the valid items in one request and answers each item as a single POST would', async () => {
    const sleep = { task_name: 'diagnostic.sleep', payload: { seconds: 0 } };
    const res = await batch({
      tasks: [
        sleep,
        { payload: {} },
        { task_name: 'nope', payload: {} },
        { task_name: 'diagnostic.sleep', payload: { seconds: -1 } },
        { ...sleep, options: { idempotency_key: 'k1', priority: 3 } },
        { ...sleep, options: { idempotency_key: 'k1', priority: 3 } },
        { task_name: 'diagnostic.fail', payload: {}, options: { idempotency_key: 'k1' } },
      ],
    }).expect(200);
    const codes = res.body.items.map((i: { status_code: number }) => i.status_code);
    expect(codes).toEqual([201, 422, 422, 422, 201, 200, 409]);
    expect(res.body.created).toBe(2);
    expect(res.body.failed).toBe(4);
    expect(res.body.items.map((i: { index: number }) => i.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(res.body.items[1].detail).toMatch(/task_name/);
    expect(res.body.items[2].detail).toMatch(/Unknown task_name 'nope'/);
    expect(res.body.items[3].detail).toMatch(/payload\.seconds/);
    expect(res.body.items[5].task_id).toBe(res.body.items[4].task_id);
    for (const i of [0, 4]) {
      expect(res.body.items[i]).toMatchObject({ status: 'pending', queue: 'cpu_intensive', task_name: 'diagnostic.sleep' });
      const job = await queue.getJob(res.body.items[i].task_id);
      expect(job?.opts.attempts).toBe(4);
    }
    expect((await queue.getJob(res.body.items[4].task_id))?.opts.priority).toBe(3);
    const status = await request(app.getHttpServer()).get(`/api/v1/tasks/${res.body.items[0].task_id}`).set('X-API-Key', TEST_API_KEY).expect(200);
    expect(status.body.status).toBe('pending');
  });

  it.each([
    ['an empty list', { tasks: [] }],
    ['no list', {}],
    ['a list of non-objects', { tasks: [1, 2] }],
    ['more than 1000 items', { tasks: Array.from({ length: 1001 }, () => ({ task_name: 'diagnostic.sleep', payload: { seconds: 0 } })) }],
  ])('answers 422 for %s', async (_what, body) => {
    const res = await batch(body).expect(422);
    expect(typeof res.body.detail).toBe('string');
  });

  it('takes 1000 tasks in one request', async () => {
    const res = await batch({ tasks: Array.from({ length: 1000 }, (_, i) => ({ task_name: 'diagnostic.sleep', payload: { seconds: i % 3 } })) }).expect(200);
    expect(res.body.created).toBe(1000);
    expect(new Set(res.body.items.map((i: { task_id: string }) => i.task_id)).size).toBe(1000);
  });
});
