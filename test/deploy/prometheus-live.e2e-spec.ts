import { readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { METRIC } from '../../src/metrics/metric-names';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { CHART_DIR } from './chart-source';
import { PrometheusServer, startPrometheus } from './prometheus-server';
import { withoutThresholds } from './promql-thresholds';
import { listenLocal } from '../support/raw-http';

/**
 * The alert rules and the dashboard against a real Prometheus (Debian's `prometheus`) that scrapes
 * a running Sluice API and worker every second and evaluates the rules every second.
 *
 * One process hosts both apps, so they share prom-client's default registry and both targets
 * expose the same series. Sums over the two jobs double every count; ratios are unchanged, and the
 * workload is sized so that every threshold is passed by one job's counts alone.
 */

jest.setTimeout(90_000);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
interface RulesFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Target {
  refId: string;
  expr?: string;
}
interface Panel {
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  allValue?: string;
  query?: { query?: string } | string;
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

const ALERTS_TEXT = readFileSync(join(CHART_DIR, 'files', 'alerts.yaml'), 'utf8');
const RULES = (yaml.load(ALERTS_TEXT) as RulesFile).groups.flatMap((g) => g.rules);
const DASHBOARD = JSON.parse(readFileSync(join(CHART_DIR, 'files', 'dashboard.json'), 'utf8')) as Dashboard;

/** The failure-rate alerts are the ones computed from final failures. */
const FAILURE_RATE_ALERTS = RULES.filter((r) => r.expr.includes(METRIC.taskFailed)).map((r) => r.alert);
const FAILURE_RATE_CRITICAL = FAILURE_RATE_ALERTS.find((a) => RULES.find((r) => r.alert === a)?.labels?.severity === 'critical')!;
const NO_WORKER_ALERT = 'SluiceNoWorkerUp';

const NAMESPACE = 'sluice-e2e';
const API_JOB = 'sluice-api';
const WORKER_JOB = 'sluice-worker';
const QUEUE = 'cpu_intensive';

/**
 * The `for:` shortened so that alerts fire within seconds; thresholds stay exactly as shipped,
 * since they are what is under test.
 */
function rulesWithShortFor(): string {
  const doc = yaml.load(ALERTS_TEXT) as RulesFile;
  for (const r of doc.groups.flatMap((g) => g.rules)) if (r.for) r.for = '1s';
  return yaml.dump(doc, { lineWidth: -1 });
}

/**
 * Rules whose threshold-free expression cannot return data in a test of seconds, why, and what is
 * checked instead. Every other rule's whole threshold-free expression and each of its arms must
 * return data.
 */
const WITHOUT_DATA_HERE: Record<string, { reason: string; instead: (whole: string, arms: string[]) => string[] }> = {
  SluiceQueueBacklogGrowing: {
    reason: 'compares the backlog with 15 minutes ago, and this Prometheus has existed for seconds only',
    instead: (whole) => [whole.replace(/\s+offset\s+15m\b/g, '')],
  },
  [NO_WORKER_ALERT]: {
    // Without `> 0` on its right, `unless` means "no worker series" rather than "no worker up", and a
    // worker_up of 0 is a series: the whole form is empty by construction, not for lack of data.
    reason: 'the whole form is empty whenever sluice_worker_up exists; the last test checks the whole expression, thresholds included, with the worker stopped',
    instead: (_whole, arms) => arms,
  },
};

/** Grafana's variables as a dashboard opened with its defaults ("All") fills them in. */
function fillVariables(expr: string): string {
  let e = expr.replace(/\$__rate_interval\b/g, '1m').replace(/\$__interval\b/g, '1s').replace(/\$__range\b/g, '1h');
  for (const v of DASHBOARD.templating.list.filter((x) => x.type === 'query')) {
    e = e.replace(new RegExp(`\\$\\{${v.name}\\}|\\$${v.name}\\b`, 'g'), v.allValue ?? '.*');
  }
  return e;
}

function dashboardTargets(): { title: string; refId: string; expr: string }[] {
  const walk = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...walk(p.panels ?? [])]);
  return walk(DASHBOARD.panels).flatMap((p) => (p.targets ?? []).filter((t) => t.expr).map((t) => ({ title: p.title, refId: t.refId, expr: t.expr! })));
}

// Port 0 (listenLocal): the kernel picks a free port, with no window for another process to take it.
const listen = (app: NestFastifyApplication): Promise<number> => listenLocal(app);

describe('alerts.yaml and dashboard.json against a live Prometheus', () => {
  let s: Stack | undefined;
  let prom: PrometheusServer | undefined;
  const started = Date.now();
  const timings: Record<string, number> = {};
  const mark = (what: string): void => {
    timings[what] = Math.round((Date.now() - started) / 100) / 10;
  };
  const tasks: { cpu?: string; longSleep?: string } = {};

  /** Polls `expr` until it returns at least one series; the answer on failure says what was last seen. */
  const hasData = async (expr: string, timeoutMs: number): Promise<string | undefined> => {
    try {
      await waitFor(
        'data',
        async () => {
          const r = await prom!.query(expr);
          if (r.status !== 'success') throw new Error(r.error);
          return r.samples.length > 0;
        },
        timeoutMs,
        250,
      );
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };

  beforeAll(async () => {
    s = await Stack.start({
      WORKER_CONCURRENCY: '4',
      // No recycling by task count: the CPU task's kills feed sluice_worker_child_recycled_total, and
      // a burst of recycles makes sluice_worker_up read 0 while slots wait for new children, which
      // would set off SluiceNoWorkerUp under load (reported separately; not what this test is about).
      WORKER_MAX_TASKS_PER_CHILD: '0',
      // One retry, at once, so that sluice_task_retried_total has a series too.
      TASK_MAX_RETRIES: '1',
      TASK_RETRY_BACKOFF: '0.1',
      TASK_RETRY_JITTER: 'false',
      // The long sleep stops at the soft limit; the CPU task is killed at the hard one.
      TASK_SOFT_TIME_LIMIT: '2',
      TASK_TIME_LIMIT: '2.5',
      ALERT_EVAL_INTERVAL: '0.5',
    });
    const [apiPort, workerPort] = [await listen(s.api), await listen(s.worker!)];
    mark('sluice up');

    prom = await startPrometheus({
      intervalSeconds: 1,
      // namespace and pod as the Prometheus Operator sets them on the chart's ServiceMonitor targets.
      targets: [
        { job: API_JOB, port: apiPort, labels: { namespace: NAMESPACE, pod: 'sluice-api-0' } },
        { job: WORKER_JOB, port: workerPort, labels: { namespace: NAMESPACE, pod: 'sluice-worker-0' } },
      ],
      ruleFiles: { 'alerts.yaml': rulesWithShortFor() },
    });
    mark('prometheus ready');
    // Prometheus hands new targets to its scrapers at most every 5 s, so the first scrape takes a while.
    await waitFor('both targets to be scraped', async () => (await prom!.query('up == 1')).samples.length === 2, 20_000, 100);
    mark('targets up');

    // Long runs first, so they overlap everything else.
    tasks.longSleep = await s.submit('diagnostic.sleep', { seconds: 60 });
    tasks.cpu = await s.submit('diagnostic.cpu', { seconds: 60 });
    const cancelled = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 60 });
    await s.cancel(cancelled).expect(200);

    // increase() only sees what a series gained after its first scrape, and prom-client creates a
    // series on its first increment: one outcome of each kind first, scraped by both jobs, and only
    // then the outcomes that the failure rate is computed from.
    const seed = [await s.submit('diagnostic.fail', { message: 'seed' }), await s.submit('diagnostic.sleep', { seconds: 0 })];
    await Promise.all([s.until(seed[0], 'failed'), s.until(seed[1], 'completed')]);
    await waitFor(
      'both jobs to have scraped a failed and a succeeded series',
      async () => {
        const jobs = async (metric: string) => (await prom!.query(`count by (job) (${metric})`)).samples.length;
        return (await jobs(METRIC.taskFailed)) === 2 && (await jobs(METRIC.taskSucceeded)) === 2;
      },
      10_000,
      100,
    );
    mark('first outcomes scraped');

    // 12 of 15 fail: 80 %, far above the critical 20 %, and 15 outcomes, above the minimum of 10.
    const failing = await Promise.all(Array.from({ length: 12 }, (_, i) => s!.submit('diagnostic.fail', { message: `planned ${i}` })));
    const passing = await Promise.all(Array.from({ length: 3 }, () => s!.submit('diagnostic.sleep', { seconds: 0 })));
    await Promise.all([...failing.map((id) => s!.until(id, 'failed')), ...passing.map((id) => s!.until(id, 'completed'))]);
    mark('outcomes done');
  });

  afterAll(async () => {
    // Prometheus first, so that nothing scrapes apps that are shutting down.
    await prom?.stop();
    await s?.stop();
    mark('stopped');
    console.log(`prometheus-live timings (s since start): ${JSON.stringify(timings)}`);
  });

  it('loads every rule of alerts.yaml, and each evaluates without error', async () => {
    const rules = await waitFor(
      'every rule to have been evaluated',
      async () => {
        const all = await prom!.rules();
        return all.length === RULES.length && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      10_000,
      200,
    );
    expect(rules.map((r) => r.name).sort()).toEqual(RULES.map((r) => r.alert).sort());
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError}`)).toEqual([]);
  });

  it('the failure-rate alerts fire, and no other Sluice alert does', async () => {
    expect([...FAILURE_RATE_ALERTS].sort()).toEqual(['SluiceTaskFailureRateCritical', 'SluiceTaskFailureRateWarning']);
    const firing = await waitFor(
      `${FAILURE_RATE_CRITICAL} to fire`,
      async () => {
        const alerts = await prom!.alerts();
        const names = alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname);
        return FAILURE_RATE_ALERTS.every((n) => names.includes(n)) ? alerts : undefined;
      },
      30_000,
      200,
    );
    mark('failure-rate alerts firing');
    const critical = firing.find((a) => a.labels.alertname === FAILURE_RATE_CRITICAL)!;
    expect(critical).toMatchObject({ state: 'firing', labels: { severity: 'critical', namespace: NAMESPACE, queue: QUEUE } });
    // The value is the failure rate itself; 12 of 15 planned outcomes failed.
    expect(Number(critical.value)).toBeGreaterThan(0.5);
    expect(firing.map((a) => a.labels.alertname).sort()).toEqual([...FAILURE_RATE_ALERTS].sort());
  });

  it('the running-tasks panel saw the long tasks', async () => {
    await waitFor(
      'a busy child in Prometheus',
      async () => {
        const r = await prom!.query(`max(max_over_time(${METRIC.childBusy}{job="${WORKER_JOB}"}[1m]))`);
        return r.samples.length === 1 && Number(r.samples[0].value[1]) === 1;
      },
      10_000,
      250,
    );
    expect((await s!.until(tasks.longSleep!, 'completed', 10_000)).result).toMatchObject({ soft_limit_hit: true });
  });

  it('every dashboard expression parses and returns data, with the variables at "All"', async () => {
    // The time-limit panel needs the CPU task's kills, the last series to appear.
    await s!.until(tasks.cpu!, 'failed', 20_000);
    const targets = dashboardTargets();
    expect(targets.length).toBeGreaterThan(20);
    const problems = await Promise.all(
      targets.map(async (t) => {
        const expr = fillVariables(t.expr);
        if (expr.includes('$')) return `${t.title} ${t.refId}: unfilled variable in ${expr}`;
        const why = await hasData(expr, 15_000);
        return why && `${t.title} ${t.refId}: ${expr} → ${why}`;
      }),
    );
    mark('dashboard checked');
    expect(problems.filter(Boolean)).toEqual([]);
  });

  it('every dashboard variable query finds values', async () => {
    const vars = DASHBOARD.templating.list.filter((v) => v.type === 'query');
    expect(vars.length).toBeGreaterThan(0);
    for (const v of vars) {
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\)$/s.exec(q.trim());
      expect([v.name, m !== null]).toEqual([v.name, true]);
      const [, selector, label] = m!;
      const r = await prom!.api<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(fillVariables(selector))}`);
      expect([v.name, r.status, r.data?.length ? 'values' : 'none']).toEqual([v.name, 'success', 'values']);
    }
  });

  it("every rule's expression parses, and without its thresholds returns data", async () => {
    const problems = await Promise.all(
      RULES.map(async (rule) => {
        const parsed = await prom!.query(rule.expr);
        if (parsed.status !== 'success') return [`${rule.alert}: does not evaluate: ${parsed.error}`];
        const { expr, arms, thresholds } = withoutThresholds(rule.expr);
        if (thresholds.length === 0) return [`${rule.alert}: no threshold found to remove`];
        const exception = WITHOUT_DATA_HERE[rule.alert];
        const forms = exception ? exception.instead(expr, arms) : [...new Set([expr, ...arms])];
        const whys = await Promise.all(forms.map(async (f) => ({ f, why: await hasData(f, 10_000) })));
        const note = exception ? ` (checked instead of the whole form, which ${exception.reason})` : '';
        return whys.filter((w) => w.why).map((w) => `${rule.alert}: ${w.f.replace(/\s+/g, ' ')} → ${w.why}${note}`);
      }),
    );
    mark('rules checked');
    expect(problems.flat()).toEqual([]);
  });

  it('with no worker up and a task waiting, the no-worker expression returns data and its alert fires', async () => {
    const rule = RULES.find((r) => r.alert === NO_WORKER_ALERT)!;
    const before = (await prom!.alerts()).map((a) => a.labels.alertname);
    expect(before).not.toContain(NO_WORKER_ALERT);
    const worker = s!.worker!;
    s!.worker = undefined;
    await worker.close();
    const waiting = await s!.submit('diagnostic.sleep', { seconds: 0 });
    expect((await s!.get(waiting)).status).toBe('pending');

    expect(await hasData(rule.expr, 20_000)).toBeUndefined();
    const alert = await waitFor(
      `${NO_WORKER_ALERT} to fire`,
      async () => (await prom!.alerts()).find((a) => a.labels.alertname === NO_WORKER_ALERT && a.state === 'firing'),
      20_000,
      200,
    );
    mark('no-worker alert firing');
    expect(alert.labels).toMatchObject({ namespace: NAMESPACE, severity: 'critical' });
    expect(Number(alert.value)).toBe(1);
  });
});
