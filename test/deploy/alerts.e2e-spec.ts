import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { EnvironmentVariables } from '../../src/config/env.schema';
import { METRIC } from '../../src/metrics/metric-names';
import { CHART_DIR, REPO_ROOT, RUNBOOK_PLACEHOLDER, markdownAnchors } from './chart-source';
import { unknownMetrics } from './metric-refs';
import { promtool } from './promtool';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface UnitTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
}

const ALERTS_FILE = join(CHART_DIR, 'files', 'alerts.yaml');
const UNIT_TESTS_FILE = join(__dirname, 'fixtures', 'alerts.test.yaml');
const rules = (yaml.load(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = new Map(rules.filter((r) => r.alert).map((r) => [r.alert as string, r]));
const expr = (name: string): string => alerts.get(name)?.expr ?? '';
const env = new EnvironmentVariables();
const MiB = 1024 * 1024;

describe('helm/sluice/files/alerts.yaml', () => {
  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', ALERTS_FILE]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('passes its promtool unit tests (test/deploy/fixtures/alerts.test.yaml)', () => {
    const r = promtool(['test', 'rules', UNIT_TESTS_FILE]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('has the alerts the health thresholds call for, each with a severity, a summary and a runbook_url', () => {
    expect([...alerts.keys()].sort()).toEqual(
      [
        'SluiceChildMemoryCritical',
        'SluiceChildMemoryWarning',
        'SluiceNoWorkerUp',
        'SluiceQueueBacklogGrowing',
        'SluiceQueuePaused',
        'SluiceRedisDataLost',
        'SluiceTaskDurationCritical',
        'SluiceTaskDurationWarning',
        'SluiceTaskFailureRateCritical',
        'SluiceTaskFailureRateWarning',
      ].sort(),
    );
    for (const [name, rule] of alerts) {
      expect([name, rule.labels?.severity]).toEqual([name, name.endsWith('Warning') || name === 'SluiceQueueBacklogGrowing' ? 'warning' : 'critical']);
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toBeTruthy();
      expect([name, Object.keys(rule.annotations ?? {}).sort()]).toEqual([name, ['description', 'runbook_url', 'summary']]);
    }
  });

  it('uses the application default thresholds', () => {
    const pct = (p: number): string => (p / 100).toFixed(2);
    expect(expr('SluiceTaskFailureRateWarning')).toContain(`> ${pct(env.ALERT_FAILURE_RATE_WARNING)}\n`);
    expect(expr('SluiceTaskFailureRateCritical')).toContain(`> ${pct(env.ALERT_FAILURE_RATE_CRITICAL)}\n`);
    for (const name of ['SluiceTaskFailureRateWarning', 'SluiceTaskFailureRateCritical']) {
      expect(expr(name)).toContain(`>= ${env.ALERT_MIN_SAMPLES}`);
      expect(expr(name)).toContain(`[${env.ALERT_WINDOW / 3600}h]`);
    }
    expect(expr('SluiceTaskDurationWarning')).toContain(`le="${env.ALERT_TASK_DURATION_WARNING}"`);
    expect(expr('SluiceTaskDurationCritical')).toContain(`le="${env.ALERT_TASK_DURATION_CRITICAL}"`);
    expect(expr('SluiceChildMemoryWarning')).toBe(`${METRIC.childMemory} > ${env.ALERT_MEMORY_WARNING_MB} * 1024 * 1024`);
    expect(expr('SluiceChildMemoryCritical')).toBe(`${METRIC.childMemory} > ${env.ALERT_MEMORY_CRITICAL_MB} * 1024 * 1024`);
    expect(env.ALERT_MEMORY_CRITICAL_MB * MiB).toBe(2040528896);
    expect(expr('SluiceQueuePaused')).toBe(`max by (namespace, queue) (${METRIC.queuePausedSeconds}) > ${env.ALERT_QUEUE_PAUSED_AFTER}`);
  });

  it('alerts on running tasks through the health evaluation, and on finished runs through the histogram', () => {
    for (const name of ['SluiceTaskDurationWarning', 'SluiceTaskDurationCritical']) {
      expect(expr(name)).toContain(`${METRIC.alertActive}{alert="task_duration"`);
      expect(expr(name)).toContain(`${METRIC.taskRuntime}_bucket`);
    }
  });

  it('the worker alert covers both zero workers and no worker series, while tasks wait', () => {
    const e = expr('SluiceNoWorkerUp');
    expect(e).toContain(`${METRIC.queueLength}{state=~"waiting|prioritized"}`);
    expect(e).toMatch(new RegExp(`unless on \\(namespace\\)\\s+sum by \\(namespace\\) \\(${METRIC.workerUp}\\) > 0`));
  });

  it('pages on a Redis data loss from the gauge that the health evaluation holds', () => {
    expect(expr('SluiceRedisDataLost')).toBe(`max by (namespace) (${METRIC.redisDataLost}) > 0`);
    expect(alerts.get('SluiceRedisDataLost')?.for).toBeUndefined();
  });

  it('mentions only metrics that Sluice exports', () => {
    for (const rule of rules) expect([rule.alert, unknownMetrics(rule.expr)]).toEqual([rule.alert, []]);
  });

  it('every alert has a unit test where it fires and one where it stays silent', () => {
    const tests = (yaml.load(readFileSync(UNIT_TESTS_FILE, 'utf8')) as { tests: UnitTest[] }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of alerts.keys()) {
      const mine = cases.filter((c) => c.alertname === name);
      expect([name, mine.some((c) => c.exp_alerts.length > 0)]).toEqual([name, true]);
      expect([name, mine.some((c) => c.exp_alerts.length === 0)]).toEqual([name, true]);
    }
  });

  it('every alert links its runbook: the placeholder base URL and the anchor of a heading under "## Runbook" in docs/operations.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    const start = doc.indexOf('\n## Runbook\n');
    expect(start).toBeGreaterThanOrEqual(0);
    const end = doc.indexOf('\n## ', start + 1);
    const runbook = doc.slice(start + '\n## Runbook\n'.length, end < 0 ? undefined : end);
    const anchors = markdownAnchors(runbook);
    const base = RUNBOOK_PLACEHOLDER.replace(/\./g, '\\.');
    for (const [name, rule] of alerts) {
      const url = rule.annotations?.runbook_url ?? '';
      expect([name, url]).toEqual([name, expect.stringMatching(new RegExp(`^${base}#[a-z0-9_-]+$`))]);
      expect([name, anchors.has(url.split('#')[1])]).toEqual([name, true]);
    }
  });
});
