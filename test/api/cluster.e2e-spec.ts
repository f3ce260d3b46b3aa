import { createHmac } from 'node:crypto';
import { Cluster } from 'ioredis';
import { AlertEvaluator } from '../../src/metrics/alert-evaluator.service';
import { QueueKeys } from '../../src/tasks/lifecycle/task-keys';
import { TEST_API_KEY } from '../support/app';
import { TestCluster, startTestCluster } from '../support/cluster';
import { listenLocal } from '../support/raw-http';
import { openSse, taskOf } from '../support/sse';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';

jest.setTimeout(60_000);

/**
 * A real Redis Cluster: 3 masters, 3 replicas (6 redis-server processes, `redis-cli --cluster
 * create`). Each queue's keys carry its own hash tag, so a second queue, chosen to live on another
 * master, works end to end next to cpu_intensive, and the API sums and pages across both.
 */
describe('Redis Cluster', () => {
  let cluster: TestCluster;
  let s: Stack;
  let second: string;
  let raw: Cluster;
  const PREFIX = 'sluicec';
  const SECRET = 'cluster-webhook-secret-0123456789';
  // A webhook receiver on loopback, the only allowed host.
  const receiver = new WebhookReceiver();
  let hookPort: number;

  beforeAll(async () => {
    hookPort = await receiver.start();
    cluster = await startTestCluster(3);
    const home = await cluster.masterOf('{cpu_intensive}');
    second = '';
    for (const candidate of ['probes', 'second', 'light', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8']) {
      if ((await cluster.masterOf(`{${candidate}}`)) !== home) {
        second = candidate;
        break;
      }
    }
    expect(second).not.toBe('');
    s = await Stack.start(
      {
        TASK_QUEUE_OVERRIDES: `diagnostic.sleep:${second}`,
        WORKER_QUEUES: `cpu_intensive,${second}`,
        TASK_MAX_RETRIES: '1',
        TASK_RETRY_BACKOFF: '0.1',
        TASK_RETRY_BACKOFF_MAX: '0.2',
        WORKER_CANCEL_GRACE: '0.5',
        CALLBACK_ALLOWED_HOSTS: `127.0.0.1:${hookPort}`,
        CALLBACK_SECRET: SECRET,
      },
      {},
      { url: cluster.url, prefix: PREFIX, stop: () => cluster.stop() },
    );
    raw = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] }]);
  });

  afterAll(async () => {
    raw?.disconnect();
    await s?.stop();
    await receiver.stop();
  });

  it('runs tasks of two queues on two masters, and answers GET, list, metrics and cancel across them', async () => {
    const sleepId = await s.submit('diagnostic.sleep', { seconds: 0 });
    const cpuId = await s.submit('diagnostic.cpu', { seconds: 0.05, ignore_signals: false });
    expect((await s.until(sleepId, 'completed')).result).toMatchObject({ slept_seconds: expect.any(Number) });
    await s.until(cpuId, 'completed');

    const sleepKey = new QueueKeys(PREFIX, second).job(sleepId);
    const cpuKey = new QueueKeys(PREFIX, 'cpu_intensive').job(cpuId);
    expect(await raw.exists(sleepKey)).toBe(1);
    expect(await raw.exists(cpuKey)).toBe(1);
    expect(await cluster.masterOf(sleepKey)).not.toBe(await cluster.masterOf(cpuKey));

    const get = await s.http().get(`/api/v1/tasks/${sleepId}`).set('X-API-Key', TEST_API_KEY).expect(200);
    expect(get.body).toMatchObject({ queue: second, status: 'completed' });
    const list = await s.http().get('/api/v1/tasks?limit=1').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(list.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([cpuId]);
    const page2 = await s.http().get(`/api/v1/tasks?limit=1&cursor=${list.body.next_cursor}`).set('X-API-Key', TEST_API_KEY).expect(200);
    expect(page2.body.items.map((t: { task_id: string }) => t.task_id)).toEqual([sleepId]);

    const delayed = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 60 });
    expect((await s.cancel(delayed).expect(200)).body).toMatchObject({ status: 'cancelled', previous_state: 'pending' });

    const metrics = await s.http().get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(metrics.body.metrics).toMatchObject({ total_tasks: 3, completed_tasks: 2, cancelled_tasks: 1, currently_running: 0 });
  });

  it('cancels a running task on the second queue, retries a failing one on the first, and reports health', async () => {
    const running = await s.submit('diagnostic.sleep', { seconds: 30 });
    await s.until(running, 'processing');
    expect((await s.cancel(running)).status).toBeLessThan(300);
    expect((await s.until(running, 'cancelled')).cancelled_at).not.toBeNull();

    const failing = await s.submit('diagnostic.fail', { message: 'boom', retryable: true });
    const failed = await s.until(failing, 'failed');
    expect(failed).toMatchObject({ attempts: 2, error: { type: 'Error', message: 'boom' } });

    const metrics = await s.http().get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(metrics.body.metrics).toMatchObject({ total_tasks: 5, completed_tasks: 2, cancelled_tasks: 2, failed_tasks: 1, retried_tasks: 1, currently_running: 0 });
    const health = await s.http().get('/api/v1/tasks/health').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(health.body.alerts.filter((a: { metric: string }) => a.metric === 'redis_data_lost' || a.metric === 'workers')).toEqual([]);
  });

  it('scopes an idempotency key to its queue: the same key names one task per queue', async () => {
    const options = { idempotency_key: 'cluster-key' };
    const a = await s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0 }, options }).expect(201);
    const b = await s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.fail', payload: { message: 'x', retryable: false }, options }).expect(201);
    expect(a.body.task_id).not.toBe(b.body.task_id);
    const again = await s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 0 }, options }).expect(200);
    expect(again.body.task_id).toBe(a.body.task_id);
  });

  it('pauses one queue on its master, retries a task on the other, and cancels in bulk across both', async () => {
    const post = (path: string, body: object = {}) => s.http().post(path).set('X-API-Key', TEST_API_KEY).send(body);
    await post(`/api/v1/queues/${second}/pause`).expect(200);
    const held = await s.submit('diagnostic.sleep', { seconds: 0 });
    const failing = await s.submit('diagnostic.fail', { message: 'again', retryable: false });
    await s.until(failing, 'failed');
    const retried = await post(`/api/v1/tasks/${failing}/retry`).expect(200);
    expect(retried.body.attempt_history).toEqual([expect.objectContaining({ status: 'failed', attempts: 1 })]);
    await s.until(failing, 'failed', 15_000, (t) => t.status === 'failed' && (t as unknown as { attempt_history: unknown[] }).attempt_history.length === 1);
    expect((await s.get(held)).status).toBe('pending');
    await s.api.get(AlertEvaluator).tick();
    const health = await s.http().get('/api/v1/tasks/health').set('X-API-Key', TEST_API_KEY).expect(200);
    expect(health.body.alerts).toContainEqual(expect.objectContaining({ metric: 'queue_paused', queue: second, severity: 'warning' }));

    const waiting = await s.submit('diagnostic.fail', { message: 'x' }, { delay_seconds: 60 });
    expect((await post('/api/v1/tasks/cancel', { task_ids: [held, waiting, failing] }).expect(200)).body).toEqual({
      cancelled: 2,
      termination_requested: 0,
      already_final: 1,
      not_found: 0,
      next_cursor: null,
    });
    const more = [await s.submit('diagnostic.sleep', { seconds: 0 }), await s.submit('diagnostic.fail', { message: 'y' }, { delay_seconds: 60 })];
    expect((await post('/api/v1/tasks/cancel', { status: 'pending' }).expect(200)).body).toMatchObject({ cancelled: 2, next_cursor: null });
    for (const id of more) expect((await s.get(id)).status).toBe('cancelled');
    await post(`/api/v1/queues/${second}/resume`).expect(200);
  });

  it("streams a task's events and delivers completion webhooks, for a task of each queue", async () => {
    const port = await listenLocal(s.api);
    const submit = (taskName: string, payload: object, path: string) =>
      s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: taskName, payload, options: { delay_seconds: 1, callback_url: `http://127.0.0.1:${hookPort}${path}` } }).expect(201);
    // Held back 1 s, so each stream is open before its task runs.
    const sleepId = (await submit('diagnostic.sleep', { seconds: 0.2, progress_steps: 2 }, '/sleep')).body.task_id as string;
    const cpuId = (await submit('diagnostic.cpu', { seconds: 0.05, ignore_signals: false }, '/cpu')).body.task_id as string;
    const streams = await Promise.all([sleepId, cpuId].map((id) => openSse(port, `/api/v1/tasks/${id}/events`, { 'X-API-Key': TEST_API_KEY })));
    for (const [i, c] of streams.entries()) {
      expect(c.status).toBe(200);
      await c.ended;
      const statuses = c.events.filter((e) => e.event === 'status').map((e) => taskOf(e).status);
      expect([i, statuses[0], statuses.at(-1), statuses]).toEqual([i, 'pending', 'completed', expect.arrayContaining(['processing'])]);
    }
    expect(streams[0].events.some((e) => e.event === 'progress' || (e.event === 'status' && taskOf(e).progress > 0))).toBe(true);

    await waitFor('both webhooks delivered', async () => {
      const views = await Promise.all([sleepId, cpuId].map(async (id) => (await s.get(id)) as unknown as { callback: { status: string } | null }));
      return views.every((v) => v.callback?.status === 'delivered');
    }, 15_000);
    for (const [path, id, queue] of [['/sleep', sleepId, second], ['/cpu', cpuId, 'cpu_intensive']] as const) {
      const got = receiver.on(path);
      expect([path, got.length]).toEqual([path, 1]);
      const body = JSON.parse(got[0].body) as { task_id: string; status: string; queue: string };
      expect(body).toMatchObject({ task_id: id, status: 'completed', queue });
      const timestamp = String(got[0].headers['x-sluice-timestamp']);
      const expected = createHmac('sha256', SECRET).update(`${timestamp}.${got[0].body}`).digest('hex');
      expect(got[0].headers['x-sluice-signature']).toBe(`sha256=${expected}`);
    }
  });
});
