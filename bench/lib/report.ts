import type { RunOptions } from './sluice';

/**
 * One row of the table: a Sluice figure next to a baseline measured in the same run, their ratio
 * and the product issue's target. A missed target is a finding, not a failure of the harness.
 */
export type Verdict = 'met' | 'MISSED' | 'reported' | 'skipped' | 'not measured' | 'endpoint missing' | 'error';

export interface Row {
  id: string;
  workload: string;
  sluice: string;
  against: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: Verdict;
  note?: string;
  data?: Record<string, unknown>;
  /** The phases the figures come from, and the CPU other processes used meanwhile (cores). */
  phases?: string[];
  otherLoad?: number;
}

export interface Params {
  /** POST rows: measured seconds per round, warm-up seconds, rounds (alternating Sluice and the bare app). */
  postSeconds: number;
  warmupSeconds: number;
  postRounds: number;
  batchSeconds: number;
  batchInFlight: number;
  getSeconds: number;
  waitingBig: number;
  e2eN: number;
  warmN: number;
  retainBig: number;
  monitorSamples: number;
  roundTripN: number;
  bullN: number;
  bullMemN: number;
  celeryN: number;
  /** Tasks per side of the recycling row against Celery (max_tasks_per_child=10), in two rounds each. */
  celeryRecycleN: number;
  latencyN: number;
  cancelN: number;
  cancelGraceN: number;
  timeLimitN: number;
  lateN: number;
  lateCapSeconds: number;
  cpuN: number;
  gatherSizes: number[];
}

export const FULL: Params = {
  postSeconds: 3,
  warmupSeconds: 1,
  postRounds: 3,
  batchSeconds: 4,
  batchInFlight: 2,
  getSeconds: 3,
  waitingBig: 100_000,
  e2eN: 10_000,
  warmN: 1000,
  retainBig: 100_000,
  monitorSamples: 400,
  roundTripN: 300,
  bullN: 10_000,
  bullMemN: 100_000,
  celeryN: 5000,
  celeryRecycleN: 2000,
  latencyN: 200,
  cancelN: 30,
  cancelGraceN: 4,
  timeLimitN: 30,
  lateN: 500,
  lateCapSeconds: 15,
  cpuN: 300,
  gatherSizes: [1000, 10_000, 100_000],
};

/** Tiny figures: proves every path of the harness works, in well under a minute. Not for numbers. */
export const SMOKE: Params = {
  postSeconds: 0.4,
  warmupSeconds: 0.2,
  postRounds: 1,
  batchSeconds: 0.8,
  batchInFlight: 2,
  getSeconds: 0.3,
  waitingBig: 2000,
  e2eN: 200,
  warmN: 50,
  retainBig: 600,
  monitorSamples: 20,
  roundTripN: 20,
  bullN: 200,
  bullMemN: 500,
  celeryN: 100,
  celeryRecycleN: 60,
  latencyN: 10,
  cancelN: 2,
  cancelGraceN: 0,
  timeLimitN: 2,
  lateN: 30,
  lateCapSeconds: 3,
  cpuN: 10,
  gatherSizes: [1000],
};

export interface Ctx {
  smoke: boolean;
  p: Params;
  run: RunOptions;
  rows: Row[];
  details: Record<string, unknown>;
  /** Figures one phase measures and a later one compares against. */
  shared: Record<string, number>;
  withCelery: boolean;
  /** Why Celery did not run, when it did not (the rows against it say so rather than guess). */
  celeryMissing?: string;
  log(message: string): void;
}

export function ratioRow(opts: {
  id: string;
  workload: string;
  sluice: number;
  baseline: number;
  unit: string;
  against: string;
  min?: number;
  max?: number;
  note?: string;
  data?: Record<string, unknown>;
  digits?: number;
}): Row {
  const ratio = opts.sluice / opts.baseline;
  const fmt = (v: number): string =>
    !Number.isFinite(v) ? 'not measured' : `${v >= 100 || opts.digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(opts.digits ?? 1)} ${opts.unit}`;
  let verdict: Verdict = 'reported';
  let target = 'reported';
  if (opts.min !== undefined) {
    target = `≥ ${opts.min}×`;
    verdict = ratio >= opts.min ? 'met' : 'MISSED';
  } else if (opts.max !== undefined) {
    target = `≤ ${opts.max}×`;
    verdict = ratio <= opts.max ? 'met' : 'MISSED';
  }
  return {
    id: opts.id,
    workload: opts.workload,
    sluice: fmt(opts.sluice),
    against: opts.against,
    baseline: fmt(opts.baseline),
    ratio: Number.isFinite(ratio) ? `${fmtRatio(ratio, opts.min ?? opts.max)}×` : '-',
    target,
    verdict,
    note: opts.note,
    data: { sluice: opts.sluice, baseline: opts.baseline, ratio, unit: opts.unit, ...opts.data },
  };
}

/** Two decimals, or three when two would hide which side of the target the ratio falls on. */
export function fmtRatio(ratio: number, target?: number): string {
  if (ratio >= 10) return ratio.toFixed(0);
  if (target !== undefined && Math.abs(ratio - target) < 0.005 && ratio !== target) return ratio.toFixed(3);
  return ratio.toFixed(2);
}

export function errorRow(id: string, workload: string, err: unknown, verdict: Verdict = 'error'): Row {
  const message = err instanceof Error ? err.message : String(err);
  return { id, workload, sluice: '-', against: '-', baseline: '-', ratio: '-', target: '-', verdict, note: message.slice(0, 300) };
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The one table: Markdown, so the same text goes into docs/BENCHMARKS.md. */
export function renderTable(rows: Row[]): string {
  const head = ['#', 'workload', 'Sluice', 'compared against', 'baseline', 'ratio', 'target', 'verdict', 'other load'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  rows.forEach((r, i) => {
    const load = r.otherLoad === undefined ? '-' : `${r.otherLoad.toFixed(2)} cores`;
    lines.push(`| ${[String(i + 1), r.workload, r.sluice, r.against, r.baseline, r.ratio, r.target, r.verdict, load].map(esc).join(' | ')} |`);
  });
  const notes = rows.map((r, i) => (r.note ? `${i + 1}. ${r.note}` : '')).filter(Boolean);
  return [...lines, '', ...(notes.length ? ['Notes:', ...notes] : [])].join('\n');
}

/** 720 → "720", 100000 → "100k". */
export const count = (n: number): string => (n < 1000 ? String(n) : `${Math.round(n / 1000)}k`);
