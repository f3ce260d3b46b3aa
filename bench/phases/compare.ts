import { fmtSummary, Summary } from '../lib/stats';
import { Ctx, errorRow, fmtRatio, ratioRow, Row, Verdict } from '../lib/report';

/**
 * Rows that set a Sluice phase against the Celery phase; built once both have run (or report
 * which one is missing).
 */

interface SluiceLatency {
  startNoRecycle: Summary;
  /** From the record's submitted_at (the API's clock before its Redis writes). */
  startNoRecycleFromSubmit?: Summary;
  startDefault: Summary;
  cancelSleepDeath: Summary;
  cancelSleepDelete: Summary;
  cancelCpuGraceDeath: Summary;
  cancelCpuGraceDelete: Summary;
  cancelCpuKillDeath: Summary;
  cancelCpuKillDelete: Summary;
  timeLimitDuration: Summary;
  timeLimitDeath: Summary;
  timeLimitErrors: string[];
}

interface CeleryLatency {
  start: Summary;
  cancel: Summary;
  timeLimit: Summary;
  timeLimitErrors: string[];
}

function latencyRow(opts: { id: string; workload: string; sluice: Summary; celery: Summary | null; against: string; target: string; verdict: (s: Summary, c: Summary | null) => Verdict; note?: string }): Row {
  const c = opts.celery;
  const ratio = c ? `p50 ${fmtRatio(opts.sluice.p50 / c.p50)}×, p99 ${fmtRatio(opts.sluice.p99 / c.p99)}×` : '-';
  return {
    id: opts.id,
    workload: `${opts.workload} (p50 / p99 / max, n=${opts.sluice.n})`,
    sluice: fmtSummary(opts.sluice),
    against: opts.against,
    baseline: c ? fmtSummary(c) : 'not measured',
    ratio,
    target: opts.target,
    verdict: opts.verdict(opts.sluice, c),
    note: opts.note,
    data: { sluice: opts.sluice, baseline: c },
  };
}

const noSlower = (s: Summary, c: Summary | null): Verdict => (!c ? 'reported' : s.p50 <= c.p50 && s.p99 <= c.p99 ? 'met' : 'MISSED');

export function comparisonRows(ctx: Ctx): void {
  const from = ctx.rows.length;
  const sl = ctx.details.sluiceLatency as SluiceLatency | undefined;
  const cl = ctx.details.celeryLatency as CeleryLatency | undefined;
  const celeryNote = ctx.withCelery ? '' : ` (${ctx.celeryMissing ?? 'Celery not run'})`;

  if (ctx.shared.sluiceE2eSide && ctx.shared.celeryE2eSide) {
    const side = ctx.details.celerySideBySide as { peerRounds: number[]; sluiceRounds: number[] };
    ctx.rows.push(
      ratioRow({
        id: 'e2e_vs_celery',
        workload: 'no-op tasks end to end, HTTP submit (single POSTs, 64 in flight), concurrency 2, no recycling',
        sluice: ctx.shared.sluiceE2eSide,
        baseline: ctx.shared.celeryE2eSide,
        unit: 'tasks/s',
        against: 'Celery 5 prefork -c 2, prefetch 1, Redis broker and results, one send_task per task',
        min: 2.0,
        note:
          `like for like, one submission per task, in rounds of ${Math.ceil(ctx.p.celeryN / 2)} in turns, Celery first: Celery ${side.peerRounds.join(', ')} / Sluice ${side.sluiceRounds.join(', ')} tasks/s; ` +
          `Celery timed from the first publish (one producer, send_task in a loop) until the results are stored` +
          (ctx.shared.sluiceE2eBatch ? `; Sluice fed through POST /tasks/batch in the e2e phase: ${Math.round(ctx.shared.sluiceE2eBatch)} tasks/s (${(ctx.shared.sluiceE2eBatch / ctx.shared.celeryE2eSide).toFixed(2)}× this Celery figure)` : ''),
      }),
    );
  } else if (ctx.shared.sluiceE2e || ctx.withCelery) {
    ctx.rows.push(errorRow('e2e_vs_celery', 'no-op tasks end to end vs Celery', `not compared${celeryNote}`, 'not measured'));
  }

  if (ctx.shared.sluiceRecycleVsCelery && ctx.shared.celeryRecycle) {
    const side = ctx.details.celeryRecycleSideBySide as { peerRounds: number[]; sluiceRounds: number[] };
    ctx.rows.push(
      ratioRow({
        id: 'e2e_recycle_vs_celery',
        workload: 'no-op tasks end to end, concurrency 2, recycling after 10 tasks: Sluice single POSTs (64 in flight), default WORKER_MAX_TASKS_PER_CHILD=10',
        sluice: ctx.shared.sluiceRecycleVsCelery,
        baseline: ctx.shared.celeryRecycle,
        unit: 'tasks/s',
        against: 'Celery 5 prefork -c 2, max_tasks_per_child=10, prefetch 1, one producer (send_task loop)',
        min: 2.0,
        note: `rounds of ${Math.ceil(ctx.p.celeryRecycleN / 2)} in turns, Celery first: Celery ${side.peerRounds.join(', ')} / Sluice ${side.sluiceRounds.join(', ')} tasks/s, each on a Redis of its own`,
      }),
    );
  } else if (ctx.shared.sluiceE2eRecycle || ctx.withCelery) {
    ctx.rows.push({
      id: 'e2e_recycle_vs_celery',
      workload: 'no-op tasks end to end, concurrency 2, recycling after 10 tasks, vs Celery prefork max_tasks_per_child=10',
      sluice: ctx.shared.sluiceE2eRecycle ? `${Math.round(ctx.shared.sluiceE2eRecycle)} tasks/s (e2e phase)` : '-',
      against: 'Celery 5 prefork -c 2, max_tasks_per_child=10, one producer',
      baseline: 'not measured',
      ratio: '-',
      target: '≥ 2×',
      verdict: 'not measured',
      note: `no Celery figure in this run${celeryNote}; no ratio is given rather than one against a figure from another run`,
    });
  }

  if (ctx.shared.sluiceQueuedFirst) {
    const sq = ctx.details.sluiceQueuedFirst as { recycle10: { perSecond: number } } | undefined;
    const q = ctx.details.celeryQueuedFirst as { acksLate: { done: number; seconds: number; capped: boolean }; acksEarly: { perSecond: number } } | undefined;
    if (ctx.shared.celeryLate) {
      ctx.rows.push(
        ratioRow({
          id: 'queued_first',
          workload: `seed delivery settings (prefetch 1, ack on completion, concurrency 2), ${ctx.p.lateN} no-op tasks queued first`,
          sluice: ctx.shared.sluiceQueuedFirst,
          baseline: ctx.shared.celeryLate,
          unit: 'tasks/s',
          against: 'Celery prefetch 1 + acks_late',
          min: 100,
          note:
            `from the first task's start to the last completion; Celery finished ${q?.acksLate.done} in ${q?.acksLate.seconds.toFixed(1)} s${q?.acksLate.capped ? ' (capped)' : ''}; ` +
            `Celery without acks_late drained the same backlog at ${Math.round(q?.acksEarly.perSecond ?? 0)} tasks/s; ` +
            `Sluice with the default recycling after 10 tasks: ${Math.round(sq?.recycle10.perSecond ?? 0)} tasks/s (${((sq?.recycle10.perSecond ?? 0) / ctx.shared.celeryLate).toFixed(0)}×)`,
        }),
      );
    } else {
      ctx.rows.push(errorRow('queued_first', 'seed delivery settings, queued first, vs Celery acks_late', `Sluice ${Math.round(ctx.shared.sluiceQueuedFirst)} tasks/s; not compared${celeryNote}`, 'not measured'));
    }
  }

  if (sl) {
    ctx.rows.push(
      latencyRow({
        id: 'cancel_cpu_default',
        workload: 'cancel a running busy loop that ignores SIGTERM (diagnostic.cpu), default WORKER_CANCEL_GRACE=5, DELETE → child dead',
        sluice: sl.cancelCpuGraceDeath,
        celery: cl?.cancel ?? null,
        against: 'Celery revoke(terminate=True) of a busy loop that does not trap signals → child dead (Celery never kills one that ignores SIGTERM)',
        target: 'reported',
        verdict: () => 'reported',
        note: `DELETE reply p50/p99/max ${fmtSummary(sl.cancelCpuGraceDelete)}; the task ignores SIGTERM, so it dies at the SIGKILL after the grace period`,
      }),
      latencyRow({
        id: 'cancel_cpu_grace0',
        workload: 'cancel a running diagnostic.cpu, WORKER_CANCEL_GRACE=0 (SIGKILL at once), DELETE → child dead',
        sluice: sl.cancelCpuKillDeath,
        celery: cl?.cancel ?? null,
        against: 'Celery revoke(terminate=True) of a busy loop → child dead',
        target: 'no slower (p50, p99)',
        verdict: noSlower,
        note: `DELETE reply (sent after the child exited) p50/p99/max ${fmtSummary(sl.cancelCpuKillDelete)}`,
      }),
      latencyRow({
        id: 'cancel_busy',
        workload: 'cancel a running busy loop that does not trap signals (diagnostic.cpu, ignore_signals false), default grace, DELETE → child dead',
        sluice: sl.cancelSleepDeath,
        celery: cl?.cancel ?? null,
        against: 'Celery revoke(terminate=True) of a busy loop → child dead',
        target: 'no slower (p50, p99)',
        verdict: noSlower,
        note: `DELETE reply p50/p99/max ${fmtSummary(sl.cancelSleepDelete)}`,
      }),
      latencyRow({
        id: 'time_limit',
        workload: 'hard time limit 0.3 s on a busy loop: child death − started_at − limit',
        sluice: sl.timeLimitDeath,
        celery: cl?.timeLimit ?? null,
        against: 'Celery time_limit=0.3: child death − task start − limit',
        target: 'p99 < 20 ms',
        verdict: (s) => (s.p99 < 20 ? 'met' : 'MISSED'),
        note: `recorded duration − limit p50/p99/max ${fmtSummary(sl.timeLimitDuration)}; errors: Sluice ${sl.timeLimitErrors.join(',')}, Celery ${cl?.timeLimitErrors.join(',') ?? '-'}`,
      }),
      latencyRow({
        id: 'start_latency',
        workload: 'submit to an idle worker until the task starts, no recycling',
        sluice: sl.startNoRecycle,
        celery: cl?.start ?? null,
        against: 'Celery publish until the task body starts',
        target: 'p50 ≤ Celery, p99 < 2× Celery',
        verdict: (s, c) => (!c ? 'reported' : s.p50 <= c.p50 && s.p99 < 2 * c.p99 ? 'met' : 'MISSED'),
        note:
          `started_at (ms) − Date.now() at the POST, each sample ±1 ms, so compare means too: Sluice ${sl.startNoRecycle.mean.toFixed(2)} ms, Celery ${cl ? cl.start.mean.toFixed(2) : '-'} ms; Sluice starts the clock before its HTTP request, Celery before its publish` +
          (sl.startNoRecycleFromSubmit
            ? `; Sluice from the API's submitted_at (its clock before the Redis writes, where Celery's starts): ${fmtSummary(sl.startNoRecycleFromSubmit)}, mean ${sl.startNoRecycleFromSubmit.mean.toFixed(2)} ms`
            : ''),
      }),
      latencyRow({
        id: 'start_latency_default',
        workload: 'submit to an idle worker until the task starts, default recycling after 10 tasks',
        sluice: sl.startDefault,
        celery: cl?.start ?? null,
        against: 'Celery publish until the task body starts',
        target: 'reported',
        verdict: () => 'reported',
      }),
    );
  }

  const phasesOf: Record<string, string[]> = {
    e2e_vs_celery: ['celery'],
    e2e_recycle_vs_celery: ctx.shared.celeryRecycle ? ['celery'] : ['e2e'],
    queued_first: ['latency', 'celery'],
    rss_parent: ['latency', 'celery'],
    rss_child: ['latency', 'celery'],
  };
  const sm = ctx.details.sluiceMemory as { workerParentMiB?: number; childMiB?: number[]; apiMiB?: number } | undefined;
  const cm = ctx.details.celeryMemory as { mainMiB: number; childMiB: number[] } | undefined;
  if (sm?.workerParentMiB !== undefined) {
    const avg = (xs: number[] | undefined): number => (xs && xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    ctx.rows.push(
      ratioRow({
        id: 'rss_parent',
        workload: 'worker parent process RSS, idle after tasks',
        sluice: sm.workerParentMiB,
        baseline: cm?.mainMiB ?? NaN,
        unit: 'MiB',
        against: 'Celery main process',
        note: `Sluice API process ${sm.apiMiB?.toFixed(1)} MiB`,
      }),
      ratioRow({
        id: 'rss_child',
        workload: 'idle pool child RSS (mean)',
        sluice: avg(sm.childMiB),
        baseline: avg(cm?.childMiB),
        unit: 'MiB',
        against: 'Celery prefork pool child',
        note: `Sluice children ${sm.childMiB?.map((x) => x.toFixed(1)).join(', ')} MiB (2 seats + 1 pre-forked spare); Celery ${cm?.childMiB.map((x) => x.toFixed(1)).join(', ') ?? '-'}`,
      }),
    );
  }
  for (const r of ctx.rows.slice(from)) r.phases = phasesOf[r.id] ?? ['latency', 'celery'];
}

/** The order; rows not listed go last. */
export const ROW_ORDER = [
  'post_single',
  'post_rate_limited',
  'post_batch',
  'post_gather_100k',
  'get_during_wrong_key_flood',
  'e2e_vs_bullmq',
  'e2e_recycle',
  'e2e_vs_celery',
  'e2e_recycle_vs_celery',
  'queued_first',
  'cpu_bound',
  'get_waiting',
  'gather_1000',
  'gather_10000',
  'gather_100000',
  'metrics_retained',
  'health_retained',
  'cancel_cpu_default',
  'cancel_cpu_grace0',
  'cancel_busy',
  'time_limit',
  'start_latency',
  'start_latency_default',
  'rss_parent',
  'rss_child',
  'redis_commands_per_task',
  'redis_bytes_per_task',
];
