import request from 'supertest';
import { AlertEvaluator } from '../../src/metrics/alert-evaluator.service';
import { TEST_API_KEY } from '../support/app';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

interface Health {
  status: string;
  metrics: { total_tasks: number; success_rate: number; failure_rate: number };
  alerts: { severity: string; metric: string; value: number; message: string; task_id?: string }[];
  timestamp: string;
}

const healthOf = async (s: Stack): Promise<Health> =>
  (await request(s.api.getHttpServer()).get('/api/v1/tasks/health').set('X-API-Key', TEST_API_KEY).expect(200)).body;
const evaluated = async (s: Stack): Promise<Health> => {
  await s.api.get(AlertEvaluator).tick();
  return healthOf(s);
};

describe('health alerts', () => {
  describe('failure rate, over a window', () => {
    let s: Stack;
    beforeAll(async () => {
      s = await Stack.start({
        WORKER_CONCURRENCY: '2',
        TASK_MAX_RETRIES: '0',
        ALERT_MIN_SAMPLES: '4',
        ALERT_FAILURE_RATE_WARNING: '10',
        ALERT_FAILURE_RATE_CRITICAL: '40',
        ALERT_WINDOW: '4',
        ALERT_EVAL_INTERVAL: '60',
      });
    });
    afterAll(() => s.stop());

    const run = async (name: string, n: number) => {
      const ids = await Promise.all(Array.from({ length: n }, () => s.submit(name, name === 'diagnostic.fail' ? { message: 'x' } : { seconds: 0 })));
      await Promise.all(ids.map((id) => s.until(id, name === 'diagnostic.fail' ? 'failed' : 'completed')));
    };

    it('stays quiet below the minimum samples, warns above the warning, goes critical, then clears', async () => {
      await run('diagnostic.fail', 1);
      await run('diagnostic.sleep', 2);
      let h = await evaluated(s);
      expect(h.status).toBe('healthy'); // 3 samples < ALERT_MIN_SAMPLES
      expect(h.alerts).toEqual([]);

      await run('diagnostic.sleep', 2); // 1 of 5 failed: 20% > 10%
      h = await evaluated(s);
      expect(h.status).toBe('warning');
      expect(h.alerts).toEqual([expect.objectContaining({ severity: 'warning', metric: 'failure_rate', value: 20 })]);

      await run('diagnostic.fail', 3); // 4 of 8 failed: 50% > 40%
      h = await evaluated(s);
      expect(h.status).toBe('critical');
      expect(h.alerts).toEqual([expect.objectContaining({ severity: 'critical', metric: 'failure_rate', value: 50 })]);
      expect(h.metrics).toEqual({ total_tasks: 8, success_rate: 50, failure_rate: 50 });
      const prom = (await request(s.api.getHttpServer()).get('/metrics')).text;
      expect(prom).toMatch(/sluice_alert_active\{alert="failure_rate",severity="critical"\} 1/);

      // Once the outcomes leave the window, the alert clears; the lifetime figure stays.
      h = await waitFor('the alert to clear', async () => {
        const x = await evaluated(s);
        return x.status === 'healthy' ? x : undefined;
      }, 10_000, 250);
      expect(h.alerts).toEqual([]);
      expect(h.metrics.failure_rate).toBe(50);
    });
  });

  describe('task duration, memory and workers', () => {
    let s: Stack;
    beforeAll(async () => {
      s = await Stack.start({
        WORKER_CONCURRENCY: '2',
        TASK_TIME_LIMIT: '20',
        TASK_SOFT_TIME_LIMIT: '19',
        TASK_MAX_RETRIES: '0',
        ALERT_TASK_DURATION_WARNING: '0.5',
        ALERT_TASK_DURATION_CRITICAL: '1.5',
        ALERT_MEMORY_WARNING_MB: '150',
        ALERT_MEMORY_CRITICAL_MB: '100000',
        ALERT_EVAL_INTERVAL: '0.2',
      });
    });
    afterAll(() => s.stop());

    it('raises task_duration alerts that carry the task id, warning then critical', async () => {
      const id = await s.submit('diagnostic.sleep', { seconds: 10 });
      const warn = await waitFor('a warning', async () => (await healthOf(s)).alerts.find((a) => a.metric === 'task_duration' && a.severity === 'warning'), 5000, 100);
      expect(warn).toMatchObject({ task_id: id, message: expect.stringMatching(new RegExp(`^Task ${id} running for \\d+ seconds$`)) });
      const crit = await waitFor('a critical alert', async () => (await healthOf(s)).alerts.find((a) => a.metric === 'task_duration' && a.severity === 'critical'), 5000, 100);
      expect(crit.task_id).toBe(id);
      expect(crit.value).toBeGreaterThanOrEqual(2);
      await s.cancel(id).expect(200);
      await waitFor('the duration alert to clear', async () => !(await healthOf(s)).alerts.some((a) => a.metric === 'task_duration'), 5000, 100);
    });

    it('raises memory_usage for a memory-hungry task', async () => {
      const id = await s.submit('diagnostic.memory', { mb: 300, hold_seconds: 4 });
      const alert = await waitFor('a memory alert', async () => (await healthOf(s)).alerts.find((a) => a.metric === 'memory_usage'), 10_000, 100);
      expect(alert.severity).toBe('warning');
      expect(alert.value).toBeGreaterThan(150);
      await s.until(id, 'completed');
    });

    it('goes critical when no worker is alive while tasks wait', async () => {
      await s.worker!.close();
      s.worker = undefined;
      await s.submit('diagnostic.sleep', { seconds: 0 });
      const alert = await waitFor('a workers alert', async () => (await healthOf(s)).alerts.find((a) => a.metric === 'workers'), 15_000, 200);
      expect(alert).toMatchObject({ severity: 'critical', value: 1 });
      expect((await healthOf(s)).status).toBe('critical');
    });
  });
});
