import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { TEST_API_KEY, startApi } from '../support/app';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

/** Reads one sample value from a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split('\n').find((l) => {
    if (!l.startsWith(`${name}{`)) return false;
    return Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`));
  });
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('JSON metrics and Prometheus counters', () => {
  let s: Stack;
  let secondApi: NestFastifyApplication;

  beforeAll(async () => {
    s = await Stack.start({
      WORKER_CONCURRENCY: '2',
      TASK_MAX_RETRIES: '1',
      TASK_RETRY_BACKOFF: '0.1',
      TASK_RETRY_JITTER: 'false',
      ALERT_EVAL_INTERVAL: '0.2',
    });
    secondApi = await startApi(s.config);
  });
  afterAll(async () => {
    await secondApi.close();
    await s.stop();
  });

  const metricsOf = async (app: NestFastifyApplication) =>
    (await request(app.getHttpServer()).get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200)).body;

  it('starts at zero, with both rates 0', async () => {
    expect((await metricsOf(s.api)).metrics).toEqual({
      total_tasks: 0,
      completed_tasks: 0,
      failed_tasks: 0,
      retried_tasks: 0,
      cancelled_tasks: 0,
      requeued_tasks: 0,
      success_rate: 0,
      failure_rate: 0,
      average_durations: {},
      currently_running: 0,
      paused_queues: [],
    });
  });

  it('counts exactly what ran: completed, failed after retries, retried, cancelled', async () => {
    const ok = await Promise.all([0, 1, 2].map(() => s.submit('diagnostic.sleep', { seconds: 0.05 })));
    const bad = await s.submit('diagnostic.fail', { message: 'nope' });
    const later = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 60 });
    await s.cancel(later).expect(200);
    await Promise.all(ok.map((id) => s.until(id, 'completed')));
    await s.until(bad, 'failed');

    const body = await metricsOf(s.api);
    expect(body.metrics).toEqual({
      total_tasks: 5,
      completed_tasks: 3,
      failed_tasks: 1,
      retried_tasks: 1,
      cancelled_tasks: 1,
      requeued_tasks: 0,
      success_rate: 60,
      failure_rate: 20,
      average_durations: { 'diagnostic.sleep': expect.any(Number) },
      currently_running: 0,
      paused_queues: [],
    });
    expect(body.metrics.average_durations['diagnostic.sleep']).toBeGreaterThanOrEqual(0.05);
    expect(new Date(body.timestamp).getTime()).toBeGreaterThan(Date.now() - 10_000);
  });

  it('reports the same figures from two API instances', async () => {
    const [a, b] = await Promise.all([metricsOf(s.api), metricsOf(secondApi)]);
    expect(a.metrics).toEqual(b.metrics);
  });

  it('counts a running task in currently_running', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 3 });
    await s.until(id, 'processing');
    await waitFor('currently_running 1', async () => (await metricsOf(s.api)).metrics.currently_running === 1, 5000, 100);
    await s.cancel(id).expect(200);
  });

  it('moves the Prometheus counters as tasks run', async () => {
    const before = (await request(s.worker!.getHttpServer()).get('/metrics').expect(200)).text;
    const labels = { queue: 'cpu_intensive', task_name: 'diagnostic.sleep' };
    const id = await s.submit('diagnostic.sleep', { seconds: 0 });
    await s.until(id, 'completed');
    const apiText = (await request(s.api.getHttpServer()).get('/metrics').expect(200)).text;
    const workerText = (await request(s.worker!.getHttpServer()).get('/metrics').expect(200)).text;
    expect(sample(apiText, 'sluice_task_submitted_total', labels)).toBe(sample(before, 'sluice_task_submitted_total', labels) + 1);
    expect(sample(workerText, 'sluice_task_succeeded_total', labels)).toBe(sample(before, 'sluice_task_succeeded_total', labels) + 1);
    expect(sample(workerText, 'sluice_task_started_total', labels)).toBe(sample(before, 'sluice_task_started_total', labels) + 1);
    expect(sample(workerText, 'sluice_task_runtime_seconds_count', labels)).toBe(sample(before, 'sluice_task_runtime_seconds_count', labels) + 1);
    expect(sample(workerText, 'sluice_task_failed_total', { task_name: 'diagnostic.fail', exception: 'Error' })).toBe(1);
    expect(sample(workerText, 'sluice_task_retried_total', { task_name: 'diagnostic.fail' })).toBe(1);
    expect(sample(workerText, 'sluice_task_revoked_total', labels)).toBe(2);
    expect(workerText).toMatch(/sluice_worker_up 1/);
    expect(workerText).toMatch(/sluice_worker_child_memory_bytes\{slot="0"\} \d+/);
    expect(workerText).toMatch(/sluice_task_runtime_seconds_bucket\{le="900"/);
    expect(apiText).toMatch(/sluice_queue_length\{queue="cpu_intensive",state="waiting"\} \d+/);
    expect(apiText).toMatch(/sluice_alert_active\{alert="failure_rate",severity="warning"\} 0/);
    expect(apiText).toMatch(/process_cpu_user_seconds_total/);
  });

  it('passes promtool check metrics on the API and the worker endpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-metrics-'));
    for (const [name, app] of [['api', s.api], ['worker', s.worker!]] as const) {
      const text = (await request(app.getHttpServer()).get('/metrics').expect(200)).text;
      const file = join(dir, `${name}.prom`);
      writeFileSync(file, text);
      let out = '';
      try {
        execFileSync('sh', ['-c', `promtool check metrics < ${file}`], { encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        out = `${(err as { stdout: string }).stdout}${(err as { stderr: string }).stderr}`;
      }
      const findings = out.split('\n').filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total /.test(l));
      expect(findings).toEqual([]);
    }
  });
});
