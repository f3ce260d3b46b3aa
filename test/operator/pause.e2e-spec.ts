import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { AlertEvaluator } from '../../src/metrics/alert-evaluator.service';
import { TEST_API_KEY, startApi } from '../support/app';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(90_000);

const SECOND_KEY = 'second-key-abcdefghijkl';

interface Alert {
  severity: string;
  metric: string;
  value: number;
  message: string;
  queue?: string;
  paused_at?: string;
  paused_by?: string;
}

/** One sample of a Prometheus text exposition, 0 when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('POST /api/v1/queues/{queue}/pause and /resume', () => {
  let s: Stack;
  let secondApi: NestFastifyApplication | undefined;
  /** Submitted while the queue was paused. */
  const held: string[] = [];
  beforeAll(async () => {
    s = await Stack.start({ WORKER_CONCURRENCY: '1', ALERT_EVAL_INTERVAL: '60', ALERT_QUEUE_PAUSED_AFTER: '3' });
  });
  afterAll(async () => {
    await secondApi?.close();
    await s.stop();
  });

  const on = (app: NestFastifyApplication) => request(app.getHttpServer());
  const pause = (app = s.api, key = TEST_API_KEY) => on(app).post('/api/v1/queues/cpu_intensive/pause').set('X-API-Key', key);
  const resume = (app = s.api, key = TEST_API_KEY) => on(app).post('/api/v1/queues/cpu_intensive/resume').set('X-API-Key', key);
  const health = async (app: NestFastifyApplication): Promise<{ status: string; alerts: Alert[] }> => {
    await app.get(AlertEvaluator).tick();
    return (await on(app).get('/api/v1/tasks/health').set('X-API-Key', TEST_API_KEY).expect(200)).body;
  };
  const pausedAlert = async (app: NestFastifyApplication) => (await health(app)).alerts.find((a) => a.metric === 'queue_paused');
  /** Still pending after `ms`: no worker took them. */
  const staysPending = async (ids: string[], ms: number) => {
    await new Promise((r) => setTimeout(r, ms));
    for (const id of ids) expect([id, (await s.get(id)).status]).toEqual([id, 'pending']);
  };

  it('answers 404 for a queue no task type uses', async () => {
    const res = await on(s.api).post('/api/v1/queues/nope/pause').set('X-API-Key', TEST_API_KEY).expect(404);
    expect(res.body.detail).toBe("Queue 'nope' not found. Known queues: cpu_intensive");
    await on(s.api).post('/api/v1/queues/nope/resume').set('X-API-Key', TEST_API_KEY).expect(404);
  });

  it('stops the worker taking tasks while the running one finishes; health and metrics show it', async () => {
    const running = await s.submit('diagnostic.sleep', { seconds: 1.5 });
    await s.until(running, 'processing');
    const res = await pause().expect(200);
    expect(res.body).toEqual({ queue: 'cpu_intensive', paused: true, paused_at: expect.any(String), paused_by: expect.stringMatching(/^key-/) });
    const waiting = [await s.submit('diagnostic.sleep', { seconds: 0 }), await s.submit('diagnostic.sleep', { seconds: 0 }, { priority: 1 })];
    held.push(...waiting);
    // The running task finishes; its final move would fetch the next job, and must not.
    await s.until(running, 'completed');
    await staysPending(waiting, 1000);

    // Pausing again changes nothing, not even since when.
    expect((await pause().expect(200)).body.paused_at).toBe(res.body.paused_at);

    const alert = await pausedAlert(s.api);
    expect(alert).toMatchObject({ severity: 'warning', queue: 'cpu_intensive', paused_at: res.body.paused_at, message: expect.stringContaining('Queue cpu_intensive is paused') });
    expect((await health(s.api)).status).toBe('warning');
    const metrics = (await on(s.api).get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200)).body.metrics;
    expect(metrics.paused_queues).toEqual([{ queue: 'cpu_intensive', paused_at: res.body.paused_at, paused_by: res.body.paused_by }]);
    const prom = (await on(s.api).get('/metrics').expect(200)).text;
    expect(sample(prom, 'sluice_queue_paused', { queue: 'cpu_intensive' })).toBe(1);
    expect(sample(prom, 'sluice_queue_paused_seconds', { queue: 'cpu_intensive' })).toBeGreaterThan(0);
    expect(sample(prom, 'sluice_alert_active', { alert: 'queue_paused', severity: 'warning' })).toBe(1);
  });

  it('holds when a second API and a restarted worker come up; the alert turns critical after ALERT_QUEUE_PAUSED_AFTER', async () => {
    secondApi = await startApi(s.config);
    await s.worker!.close();
    await s.startWorker({ WORKER_CONCURRENCY: '1' });
    held.push(await s.submit('diagnostic.sleep', { seconds: 0 }));
    await staysPending(held, 1500);

    const first = await pausedAlert(s.api);
    const second = await waitFor('the critical alert', async () => {
      const a = await pausedAlert(secondApi!);
      return a?.severity === 'critical' ? a : undefined;
    }, 10_000, 250);
    // Both pods count from the paused_at recorded in Redis.
    expect(second.paused_at).toBe(first?.paused_at);
    expect(second.value).toBeGreaterThan(3);
    expect(second.message).toMatch(/longer than ALERT_QUEUE_PAUSED_AFTER \(3 s\)/);
    expect((await health(secondApi)).status).toBe('critical');
    const prom = (await on(secondApi).get('/metrics').expect(200)).text;
    expect(sample(prom, 'sluice_alert_active', { alert: 'queue_paused', severity: 'critical' })).toBe(1);
    expect(sample(prom, 'sluice_queue_paused_seconds', { queue: 'cpu_intensive' })).toBeGreaterThan(3);
  });

  it('resumes from any pod, with any key when API_ADMIN_LABELS is not set: the waiting tasks run', async () => {
    const res = await resume(secondApi, SECOND_KEY).expect(200);
    expect(res.body).toEqual({ queue: 'cpu_intensive', paused: false, paused_at: null, paused_by: null });
    expect(held).toHaveLength(3);
    for (const id of held) await s.until(id, 'completed');
    expect(await pausedAlert(s.api)).toBeUndefined();
    expect((await on(s.api).get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200)).body.metrics.paused_queues).toEqual([]);
    const prom = (await on(s.api).get('/metrics').expect(200)).text;
    expect(sample(prom, 'sluice_queue_paused', { queue: 'cpu_intensive' })).toBe(0);
    expect(sample(prom, 'sluice_queue_paused_seconds', { queue: 'cpu_intensive' })).toBe(0);
    // Resuming a queue that runs changes nothing.
    await resume().expect(200);
    const id = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(id, 'completed');
  });

  it('a task retried while its queue is paused waits for the resume', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    await s.cancel(id).expect(200);
    await pause(s.api, SECOND_KEY).expect(200);
    await on(s.api).post(`/api/v1/tasks/${id}/retry`).set('X-API-Key', TEST_API_KEY).expect(200);
    await staysPending([id], 1000);
    await resume().expect(200);
    await s.until(id, 'completed');
  });
});
