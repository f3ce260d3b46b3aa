import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import request from 'supertest';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { lifecycleCommands } from '../../src/tasks/lifecycle/lifecycle-scripts';
import { QueueKeys } from '../../src/tasks/lifecycle/task-keys';
import { TaskSubmitter } from '../../src/tasks/task-submitter.service';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { TestRedis, startTestRedis } from '../support/redis';

/** Sluice's commands by the SHA-1 that EVALSHA names them with. */
const SCRIPT_NAMES = new Map(Object.entries(lifecycleCommands()).map(([name, c]) => [createHash('sha1').update(c.lua).digest('hex'), name]));

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

  // The ledger sends a batch as runs of up to 100 tasks of one add variant, each run one script:
  // runs must split at 100 and wherever the variant changes, and keep every item in its place.
  it('keeps each item in place across runs of the add script, variants mixed, a key repeated across runs', async () => {
    const sleep = (i: number) => ({ task_name: 'diagnostic.sleep', payload: { seconds: i % 4 } });
    const tasks: object[] = Array.from({ length: 260 }, (_, i) => sleep(i));
    for (let i = 150; i < 160; i++) tasks[i] = { ...sleep(i), options: { delay_seconds: 60 } };
    for (let i = 160; i < 170; i++) tasks[i] = { ...sleep(i), options: { priority: 7 } };
    tasks[5] = { ...sleep(5), options: { idempotency_key: 'across-runs' } };
    tasks[205] = { ...sleep(5), options: { idempotency_key: 'across-runs' } };
    tasks[206] = { ...sleep(6), options: { idempotency_key: 'across-runs' } };
    const res = await batch({ tasks }).expect(200);
    const items = res.body.items as { index: number; status_code: number; task_id: string }[];
    expect(items.map((i) => i.index)).toEqual(tasks.map((_, i) => i));
    expect(items.map((i) => i.status_code)).toEqual(tasks.map((_, i) => (i === 205 ? 200 : i === 206 ? 409 : 201)));
    expect(items[205].task_id).toBe(items[5].task_id);
    expect(res.body.created).toBe(258);

    const created = items.filter((i) => i.status_code === 201);
    const states = await Promise.all(created.map(async (i) => [i.index, await queue.getJobState(i.task_id), (await queue.getJob(i.task_id))?.data.payload.seconds] as const));
    for (const [index, state, seconds] of states) {
      expect([index, state]).toEqual([index, index >= 150 && index < 160 ? 'delayed' : index >= 160 && index < 170 ? 'prioritized' : 'waiting']);
      expect([index, seconds]).toEqual([index, index % 4]);
    }

    // Listed newest first: the reverse of the batch's order, 258 tasks in three pages.
    const listed: string[] = [];
    let cursor = '';
    do {
      const page = await request(app.getHttpServer()).get(`/api/v1/tasks?limit=100${cursor}`).set('X-API-Key', TEST_API_KEY).expect(200);
      listed.push(...page.body.items.map((t: { task_id: string }) => t.task_id));
      cursor = page.body.next_cursor ? `&cursor=${page.body.next_cursor}` : '';
    } while (cursor);
    const mine = new Set(created.map((i) => i.task_id));
    expect(listed.filter((id) => mine.has(id))).toEqual(created.map((i) => i.task_id).reverse());
  });

  // A batch's tasks share one submission millisecond. The list position once added the queue's
  // submission count mod 4096 to it, so the tasks after a multiple of 4096 listed as older.
  it('lists a batch newest first when the submission count of its queue crosses a multiple of 4096', async () => {
    const client = new Redis(redis.url);
    try {
      await client.set(new QueueKeys(redis.prefix, 'cpu_intensive').sequence, 3 * 4096 - 5);
    } finally {
      client.disconnect();
    }
    const res = await batch({ tasks: Array.from({ length: 12 }, () => ({ task_name: 'diagnostic.sleep', payload: { seconds: 0 } })) }).expect(200);
    const ids = (res.body.items as { task_id: string }[]).map((i) => i.task_id);
    const page = await request(app.getHttpServer()).get('/api/v1/tasks?limit=12').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(page.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([...ids].reverse());
  });

  // Single POSTs of concurrent requests share their add script: what reaches the ledger in one
  // turn of the event loop goes to Redis together, and each caller still gets its own answer.
  it('sends the submissions made in one turn as one script, each answered as its own', async () => {
    const submitter = app.get(TaskSubmitter);
    const sleep = { taskName: 'diagnostic.sleep', payload: { seconds: 0 } };
    // Loaded before MONITOR watches, so that each script shows once, as EVALSHA.
    await Promise.all([submitter.submit(sleep), submitter.submit(sleep), submitter.submit({ ...sleep, options: { delaySeconds: 30 } })]);
    const client = new Redis(redis.url);
    const monitor = await client.monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    try {
      const results = await Promise.allSettled([
        submitter.submit(sleep),
        submitter.submit({ ...sleep, options: { idempotencyKey: 'same-turn' } }),
        submitter.submit({ ...sleep, options: { idempotencyKey: 'same-turn' } }),
        submitter.submit({ ...sleep, payload: { seconds: 1 }, options: { idempotencyKey: 'same-turn' } }),
        submitter.submit(sleep),
        submitter.submit({ ...sleep, options: { delaySeconds: 30 } }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const [a, k1, k2, , b, delayed] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      expect([a, k1, k2, b, delayed].map((r) => r?.created)).toEqual([true, true, false, true, true]);
      expect(k2?.task.id).toBe(k1?.task.id);
      expect((results[3] as PromiseRejectedResult).reason.constructor.name).toBe('IdempotencyConflictError');
      expect(await queue.getJobState(delayed!.task.id)).toBe('delayed');
      // MONITOR shows a command once it has run; the last one may still be on its way here.
      const ids = [a, k1, delayed, b].map((r) => r!.task.id);
      const carrying = (id: string) => seen.filter((args) => args.includes(id));
      for (let i = 0; i < 50 && !ids.every((id) => carrying(id).length > 0); i++) await new Promise((r) => setTimeout(r, 20));
      // Runs keep the order of submission: a, the three keyed and b are one run of standard adds, the
      // delayed one after them a script of its own.
      // Sluice's scripts only: BullMQ's getJobState above is a script that carries an id too.
      const scripts = new Set(ids.flatMap((id) => carrying(id).filter((args) => /^evalsha$/i.test(args[0]) && SCRIPT_NAMES.has(args[1]))));
      const named = [...scripts].map((args) => `${SCRIPT_NAMES.get(args[1]) ?? args[1]} ×${ids.filter((id) => args.includes(id)).length}`);
      expect(named.sort()).toEqual(['sluiceAddDelayedJob ×1', 'sluiceAddStandardJobs ×3']);
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  });
});
