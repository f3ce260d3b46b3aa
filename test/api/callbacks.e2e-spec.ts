import { createHmac } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { REDIS_CLIENT } from '../../src/redis/redis.module';
import { TaskQueues } from '../../src/tasks/task-queues';
import { TEST_API_KEY } from '../support/app';
import { promSum } from '../support/faults';
import { Stack, TaskView } from '../support/stack';
import { WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

const SECRET = 'webhook-secret-0123456789abcdef';

type WithCallback = TaskView & { callback: { status: string; attempts: number; delivery_id: string | null; last_error: string | null } | null };

/**
 * Completion webhooks through a real API, a real worker with its child processes and a real Redis,
 * delivered over HTTP to a receiver on loopback, the only allowed host.
 */
describe('completion webhooks (options.callback_url)', () => {
  const receiver = new WebhookReceiver();
  let port: number;
  let s: Stack;
  let CALLBACK_ENV: Record<string, string>;
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const getTask = async (id: string) => (await s.get(id)) as WithCallback;
  const workerMetrics = async () => (await request(s.worker!.getHttpServer()).get('/metrics')).text;

  beforeAll(async () => {
    port = await receiver.start();
    CALLBACK_ENV = {
      CALLBACK_ALLOWED_HOSTS: `127.0.0.1:${port}`,
      CALLBACK_SECRET: SECRET,
      CALLBACK_MAX_ATTEMPTS: '3',
      CALLBACK_RETRY_BACKOFF: '0.2',
      CALLBACK_TIMEOUT: '1',
      TASK_MAX_RETRIES: '0',
    };
    s = await Stack.start(CALLBACK_ENV);
  });
  afterAll(async () => {
    await s.stop();
    await receiver.stop();
  });

  it('POSTs the final task, as GET shows it, signed with CALLBACK_SECRET, and GET shows it delivered', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0.05 }, { callback_url: url('/ok') });
    expect((await getTask(id)).callback).toEqual({ status: 'waiting', attempts: 0, delivery_id: null, last_error: null });
    const done = await s.until(id, 'completed', 15_000, (t) => (t as WithCallback).callback?.status === 'delivered');
    const [hit] = receiver.on('/ok');
    expect(receiver.on('/ok')).toHaveLength(1);
    const body = JSON.parse(hit.body) as WithCallback;
    // The task as GET showed it when it was sent: GET now differs only in the callback's state.
    const { callback: sentCallback, ...sent } = body;
    const { callback: nowCallback, ...shown } = await getTask(id);
    expect(sent).toEqual(shown);
    expect(sent).toMatchObject({ task_id: id, status: 'completed', result: expect.objectContaining({ soft_limit_hit: false }) });
    expect(sentCallback).toMatchObject({ status: 'pending', attempts: 0 });
    expect(nowCallback?.status).toBe('delivered');
    expect(hit.headers['content-type']).toBe('application/json');
    const timestamp = hit.headers['x-sluice-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${hit.body}`).digest('hex')}`;
    expect(hit.headers['x-sluice-signature']).toBe(expected);
    expect((done as WithCallback).callback).toEqual({ status: 'delivered', attempts: 1, delivery_id: hit.headers['x-sluice-delivery'], last_error: null });
  });

  it('retries a failed delivery with backoff under the same delivery id, and counts the failures', async () => {
    const before = promSum(await workerMetrics(), 'sluice_callback_failures_total', { reason: 'http_status' });
    receiver.plan.push(503, 500);
    const id = await s.submit('diagnostic.fail', { message: 'final' }, { callback_url: url('/flaky') });
    await s.until(id, 'failed', 15_000, (t) => (t as WithCallback).callback?.status === 'delivered');
    const hits = receiver.on('/flaky');
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.headers['x-sluice-delivery'])).size).toBe(1);
    expect(JSON.parse(hits[2].body)).toMatchObject({ task_id: id, status: 'failed', error: { type: 'Error', message: 'final' } });
    expect((await getTask(id)).callback).toMatchObject({ status: 'delivered', attempts: 3, last_error: null });
    expect(promSum(await workerMetrics(), 'sluice_callback_failures_total', { reason: 'http_status' }) - before).toBe(2);
  });

  it('gives up after CALLBACK_MAX_ATTEMPTS, and GET shows the last error', async () => {
    receiver.plan.push(500, 500, 500);
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { callback_url: url('/down') });
    const t = await s.until(id, 'completed', 15_000, (x) => (x as WithCallback).callback?.status === 'failed');
    expect((t as WithCallback).callback).toMatchObject({ status: 'failed', attempts: 3, last_error: 'answered 500: status 500' });
    expect(receiver.on('/down')).toHaveLength(3);
    expect(promSum(await workerMetrics(), 'sluice_callback_deliveries_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
  });

  it('does not follow a redirect, even to an allowed host', async () => {
    receiver.plan.push({ redirect: url('/elsewhere') }, { redirect: url('/elsewhere') }, { redirect: url('/elsewhere') });
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { callback_url: url('/moved') });
    const t = await s.until(id, 'completed', 15_000, (x) => (x as WithCallback).callback?.status === 'failed');
    expect((t as WithCallback).callback?.last_error).toBe('answered 302 (redirects are not followed)');
    expect(receiver.on('/elsewhere')).toHaveLength(0);
  });

  it('delivers again, under a new delivery id, when a retried task ends again', async () => {
    const id = await s.submit('diagnostic.fail', { message: 'twice' }, { callback_url: url('/again') });
    const first = await s.until(id, 'failed', 15_000, (t) => (t as WithCallback).callback?.status === 'delivered');
    await s.http().post(`/api/v1/tasks/${id}/retry`).set('X-API-Key', TEST_API_KEY).expect(200);
    await s.until(id, 'failed', 15_000, (t) => (t as WithCallback).callback?.status === 'delivered' && (t as WithCallback).callback?.delivery_id !== (first as WithCallback).callback?.delivery_id);
    const hits = receiver.on('/again');
    expect(hits).toHaveLength(2);
    expect(hits[0].headers['x-sluice-delivery']).not.toBe(hits[1].headers['x-sluice-delivery']);
  });

  it('keeps the intent through the final transition: a task cancelled while no worker runs is delivered once one starts', async () => {
    await s.worker!.close();
    s.worker = undefined;
    const id = await s.submit('diagnostic.sleep', { seconds: 30 }, { callback_url: url('/cancelled') });
    await s.cancel(id).expect(200);
    expect((await getTask(id)).callback).toMatchObject({ status: 'pending', attempts: 0 });
    await new Promise((r) => setTimeout(r, 700));
    expect(receiver.on('/cancelled')).toHaveLength(0);
    await s.startWorker(CALLBACK_ENV);
    await waitFor('the delivery', () => receiver.on('/cancelled').length === 1 || undefined, 10_000);
    expect(JSON.parse(receiver.on('/cancelled')[0].body)).toMatchObject({ task_id: id, status: 'cancelled' });
  });

  it('delivers a claim whose dispatcher died with it once the claim expires: at least once', async () => {
    await waitFor('a worker', () => s.worker, 1000);
    // Stop the pod's own dispatcher from taking it first, then claim the delivery as a dispatcher
    // would, and never report back: the dispatcher "died" holding it.
    const redis = s.api.get<Redis>(REDIS_CLIENT);
    const keys = s.api.get(TaskQueues).keys('cpu_intensive');
    await s.worker!.close();
    s.worker = undefined;
    const id = await s.submit('diagnostic.sleep', { seconds: 30 }, { callback_url: url('/orphaned') });
    await s.cancel(id).expect(200);
    const claimed = (await (redis as unknown as { sluiceCallbackClaim: (...a: (string | number)[]) => Promise<string[][]> }).sluiceCallbackClaim(keys.callbacks, keys.base, Date.now(), 3000, 10)).map((c) => c[0]);
    expect(claimed).toEqual([id]);
    const started = Date.now();
    await s.startWorker(CALLBACK_ENV);
    await waitFor('the delivery after the lease', () => receiver.on('/orphaned').length === 1 || undefined, 15_000);
    // Not before the dead dispatcher's lease of 3 s was over.
    expect(Date.now() - started).toBeGreaterThan(2000);
    expect((await getTask(id)).callback).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('refuses with 422 any callback_url but http(s) to an allowed host, without credentials', async () => {
    const post = (callback_url: string) =>
      s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0 }, options: { callback_url } });
    const cases: [string, string][] = [
      ['http://169.254.169.254/latest/meta-data', "options.callback_url's host 169.254.169.254 is not in CALLBACK_ALLOWED_HOSTS"],
      [`http://127.0.0.1:${port + 1}/x`, `options.callback_url's host 127.0.0.1:${port + 1} is not in CALLBACK_ALLOWED_HOSTS`],
      ['http://localhost/x', "options.callback_url's host localhost is not in CALLBACK_ALLOWED_HOSTS"],
      [`ftp://127.0.0.1:${port}/x`, 'options.callback_url must be an http or https URL'],
      [`file:///etc/passwd`, 'options.callback_url must be an http or https URL'],
      [`http://user:pw@127.0.0.1:${port}/x`, 'options.callback_url must not carry credentials'],
      ['not a url', 'options.callback_url is not a URL'],
    ];
    for (const [u, detail] of cases) expect((await post(u).expect(422)).body).toEqual({ detail });
    // Refused at the door: nothing was created and nothing was called.
    expect(receiver.received.filter((r) => !['/ok', '/flaky', '/down', '/moved', '/again', '/cancelled', '/orphaned'].includes(r.path))).toEqual([]);
  });
});

describe('completion webhooks off (no CALLBACK_ALLOWED_HOSTS)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({}, { worker: false });
  });
  afterAll(() => s.stop());

  it('refuses every callback_url with 422', async () => {
    const res = await s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0 }, options: { callback_url: 'https://hooks.example.com/x' } }).expect(422);
    expect(res.body).toEqual({ detail: 'options.callback_url is refused: completion webhooks are off on this service (CALLBACK_ALLOWED_HOSTS is not set)' });
  });
});
