import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { METRIC } from '../../src/metrics/metric-names';
import { CHART_DIR } from './chart-source';
import { sluiceMetricsIn, unknownMetrics } from './metric-refs';
import { promtool } from './promtool';

interface Target {
  refId: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Variable {
  type: string;
  name: string;
  query: unknown;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const raw = readFileSync(join(CHART_DIR, 'files', 'dashboard.json'), 'utf8');
const dashboard = JSON.parse(raw) as Dashboard;
const DS = { type: 'prometheus', uid: '${datasource}' };

/** Required panels: a title pattern and the metric the panel must query. */
const REQUIRED: [RegExp, string][] = [
  [/throughput by outcome/i, METRIC.taskSucceeded],
  [/failure rate/i, METRIC.taskFailed],
  [/runtime percentiles/i, METRIC.taskRuntime],
  [/queue wait/i, METRIC.taskQueueWait],
  [/queue length by state/i, METRIC.queueLength],
  [/running tasks/i, METRIC.childBusy],
  [/child memory/i, METRIC.childMemory],
  [/recycles by reason/i, METRIC.childRecycled],
  [/time-limit kills/i, METRIC.timeLimitExceeded],
  [/active alerts/i, METRIC.alertActive],
];

function panel(title: RegExp): Panel {
  const found = dashboard.panels.filter((p) => title.test(p.title));
  expect([String(title), found.length]).toEqual([String(title), 1]);
  return found[0];
}

describe('helm/sluice/files/dashboard.json', () => {
  it('has a Prometheus datasource variable and no hard-coded datasource', () => {
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    // Every datasource reference anywhere in the file goes through the variable.
    const uids = [...raw.matchAll(/"uid":\s*"([^"]*)"/g)].map((m) => m[1]).filter((u) => u !== dashboard.uid);
    expect(new Set(uids)).toEqual(new Set(['${datasource}']));
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) expect(v.datasource).toEqual(DS);
  });

  it.each(REQUIRED.map(([t, m]) => [t.source, t, m] as const))('has the panel "%s" with PromQL on the datasource variable', (_n, title, metric) => {
    const p = panel(title);
    expect(p.datasource).toEqual(DS);
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets ?? []) {
      expect(t.expr?.trim()).toBeTruthy();
      expect(t.datasource).toEqual(DS);
    }
    expect((p.targets ?? []).flatMap((t) => sluiceMetricsIn(t.expr ?? ''))).toContain(metric);
  });

  it('running tasks is the sum of busy children, and memory is drawn against the limit', () => {
    expect(panel(/running tasks/i).targets?.map((t) => t.expr)).toContain('sum(sluice_worker_child_busy{namespace=~"$namespace"})');
    expect(panel(/child memory/i).targets?.some((t) => t.expr?.includes(METRIC.childMemoryLimit))).toBe(true);
  });

  it('aggregates the queue gauge with max, since every API pod exports the same counts', () => {
    const queueExprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr ?? '').filter((e) => e.includes(METRIC.queueLength));
    expect(queueExprs.length).toBeGreaterThan(0);
    for (const e of queueExprs) expect(e).toMatch(/max by \(queue, state\) \(sluice_queue_length\{/);
  });

  it('mentions only metrics that Sluice exports', () => {
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) expect([p.title, unknownMetrics(t.expr ?? '')]).toEqual([p.title, []]);
    }
  });

  it('every expression is valid PromQL (checked by promtool with the Grafana variables filled in)', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ p, t })));
    const filled = (e: string): string =>
      e.replace(/\$__rate_interval/g, '5m').replace(/\$__range/g, '1h').replace(/\$(namespace|queue|task_name)\b/g, '.*');
    const groups = [
      {
        name: 'dashboard',
        rules: exprs.map(({ p, t }) => ({ record: `dashboard:panel${p.id}:${t.refId.toLowerCase()}`, expr: filled(t.expr ?? '') })),
      },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'sluice-dashboard-'));
    try {
      const file = join(dir, 'dashboard-exprs.yaml');
      writeFileSync(file, yaml.dump({ groups }));
      const r = promtool(['check', 'rules', file]);
      expect(r.output).toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
