import { METRIC } from '../../src/metrics/metric-names';

const HISTOGRAMS: string[] = [METRIC.taskRuntime, METRIC.taskQueueWait];
const KNOWN = new Set<string>(Object.values(METRIC));

/** Sluice metric names a PromQL text mentions, histogram series mapped to their metric. */
export function sluiceMetricsIn(promql: string): string[] {
  const names = [...promql.matchAll(/\bsluice_[a-z_]+\b/g)].map((m) => m[0]);
  return names.map((n) => {
    const base = n.replace(/_(bucket|count|sum)$/, '');
    return HISTOGRAMS.includes(base) ? base : n;
  });
}

/** Names that are not in src/metrics/metric-names.ts: typos, or metrics nobody exports. */
export function unknownMetrics(promql: string): string[] {
  return sluiceMetricsIn(promql).filter((n) => !KNOWN.has(n));
}
