import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tracked, TaskView, isFinal } from './client';
import { KillRecord } from './faults';
import { KINDS, Kind, MAX_ATTEMPTS, NEVER_COMPLETES } from './mix';

/**
 * What the soak concludes. The promise under test is at-least-once execution with exactly-once
 * accepted outcome: a run may be repeated (its worker died, its lock was lost), but each task ends
 * in one final state, which never changes, is counted once, and whose result is one real run's.
 */

/** One line of the per-run record: `<task_id> <attempt> <pid> <started_ms> <ended_ms> <outcome>`. */
export interface RunRecord {
  taskId: string;
  attempt: number;
  pid: number;
  startedAt: number;
  endedAt: number;
  outcome: string;
}

export function readRunRecords(dir: string): { byTask: Map<string, RunRecord[]>; lines: number; malformed: number } {
  const byTask = new Map<string, RunRecord[]>();
  let lines = 0;
  let malformed = 0;
  for (const f of readdirSync(dir)) {
    if (!/^runs-\d+\.log$/.test(f)) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      lines++;
      const p = line.split(' ');
      if (p.length !== 6 || p.slice(1, 5).some((v) => !/^\d+$/.test(v))) {
        malformed++;
        continue;
      }
      const r: RunRecord = { taskId: p[0], attempt: Number(p[1]), pid: Number(p[2]), startedAt: Number(p[3]), endedAt: Number(p[4]), outcome: p[5] };
      byTask.set(r.taskId, [...(byTask.get(r.taskId) ?? []), r]);
    }
  }
  return { byTask, lines, malformed };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Per task id, how many times a log line names it; logs corroborate, they decide nothing. */
export function countLogLines(texts: string[], re: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const text of texts) {
    for (const m of text.replace(ANSI, '').matchAll(re)) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  }
  return out;
}

export interface Row {
  check: string;
  value: string;
  target: string;
  /** null: reported only. */
  ok: boolean | null;
}

export interface Verdict {
  rows: Row[];
  kinds: string;
  evidence: string[];
  passed: boolean;
}

interface Inputs {
  tracked: Tracked[];
  /** The last GET of every task, after the drain and a settle pause. */
  finalViews: Map<string, TaskView | 'missing' | null>;
  records: { byTask: Map<string, RunRecord[]>; lines: number; malformed: number };
  superseded: Map<string, number>;
  completedLogs: Map<string, number>;
  kills: KillRecord[];
  restarts: number;
  freezes: { at: number; seconds: number }[];
  metrics: Record<string, number> | null;
  orphansAtEnd: { pid: number; ppid: number; cmd: string }[];
  seconds: number;
  minTasks: number;
  minSeconds: number;
}

type Run = { attempt: number; pid: number; started_at: number; ended_at: number };

const outcomeOf = (v: TaskView): string => (v.status === 'failed' ? `failed:${v.error?.type ?? '?'}` : v.status);
const same = (a: TaskView, b: TaskView): boolean =>
  a.status === b.status && a.finished_at === b.finished_at && a.attempts === b.attempts && JSON.stringify(a.result) === JSON.stringify(b.result);

export function judge(x: Inputs): Verdict {
  const rows: Row[] = [];
  const evidence: string[] = [];
  const must0 = (check: string, n: number, ids: string[] = []): void => {
    rows.push({ check, value: String(n), target: '0', ok: n === 0 });
    if (n > 0 && ids.length) evidence.push(`${check}: ${ids.slice(0, 20).join(' ')}${ids.length > 20 ? ` (+${ids.length - 20})` : ''}`);
  };
  const report = (check: string, value: string | number): void => void rows.push({ check, value: String(value), target: '', ok: null });

  const accepted = x.tracked.filter((t) => t.id);
  const ids = new Set(accepted.map((t) => t.id!));
  const killedChildren = new Set(x.kills.flatMap((k) => k.children));

  rows.push({ check: 'tasks submitted (distinct task ids)', value: String(ids.size), target: `≥ ${x.minTasks}`, ok: ids.size >= x.minTasks });
  rows.push({ check: 'duration', value: `${x.seconds.toFixed(0)} s`, target: `≥ ${x.minSeconds} s`, ok: x.seconds >= x.minSeconds });
  report('workers SIGKILLed / replacements started', `${x.kills.length} / ${x.restarts}`);
  report('Redis freezes (SIGSTOP)', x.freezes.map((f) => `${f.seconds} s`).join(', ') || 'none');
  const retried = x.tracked.filter((t) => t.unavailable + t.transportErrors + t.serverErrors > 0);
  report('submissions answered 503 (or 5xx, or timed out), then retried with the same key', retried.length);
  report('  of which the retry found the task already written (200)', retried.filter((t) => t.code === 200).length);
  const err5xx = x.tracked.filter((t) => t.serverErrors > 0);
  must0('submissions answered 5xx other than 503 (503 with "outcome unknown" is promised)', err5xx.length, err5xx.map((t) => t.id ?? `#${t.index}`));
  if (err5xx.length) evidence.push(`a 5xx answer: ${err5xx[0].serverErrorBody}; ${err5xx.filter((t) => t.code === 200).length} of these ${err5xx.length} retries found the task already written (200)`);
  must0('submissions never accepted, or refused', x.tracked.filter((t) => !t.id || t.submitError).length, x.tracked.filter((t) => t.submitError).map((t) => `#${t.index}:${t.submitError}`));
  must0('same key answered with two task ids', x.tracked.filter((t) => t.idMismatch).length, x.tracked.filter((t) => t.idMismatch).map((t) => t.idMismatch!));
  const replays = x.tracked.filter((t) => t.replay);
  const badReplays = replays.filter((t) => t.replay!.code !== 200 || !t.replay!.sameId);
  rows.push({ check: 'deliberate resubmissions with the same key answered 200, same task', value: `${replays.length - badReplays.length} of ${replays.length}`, target: 'all', ok: badReplays.length === 0 });
  if (badReplays.length) evidence.push(`bad replays: ${badReplays.map((t) => `${t.id}:${t.replay!.code}`).join(' ')}`);

  // (c) lost: accepted, but no final state by the drain deadline (or gone).
  const lost = accepted.filter((t) => {
    const v = x.finalViews.get(t.id!);
    return !v || v === 'missing' || !isFinal(v.status);
  });
  must0('(c) tasks lost: accepted, not final by the drain deadline', lost.length, lost.map((t) => `${t.id}(${t.kind},${describe(x.finalViews.get(t.id!))})`));

  // (a) accepted twice, in every form the API and the counters can show it.
  const changed: string[] = [];
  const noRecord: string[] = [];
  const ranAfterFinal: string[] = [];
  const impossible: string[] = [];
  const overAttempts: string[] = [];
  const attemptsOff: string[] = [];
  const latencies: number[] = [];
  const discarded = { killed: 0, cancelled: 0, superseded: 0 };
  const discardedIds: string[] = [];
  const byKind = new Map<Kind, Map<string, number>>();
  let expectedRetriedLo = 0;
  let expectedRetriedHi = 0;
  const finals = { completed: 0, failed: 0, cancelled: 0 };
  let records = 0;
  for (const t of accepted) {
    const v = x.finalViews.get(t.id!);
    const recs = x.records.byTask.get(t.id!) ?? [];
    records += recs.length;
    if (!v || v === 'missing' || !isFinal(v.status)) continue;
    finals[v.status as keyof typeof finals]++;
    const o = outcomeOf(v);
    const k = byKind.get(t.kind) ?? new Map<string, number>();
    k.set(o, (k.get(o) ?? 0) + 1);
    byKind.set(t.kind, k);
    if (t.firstFinal && !same(t.firstFinal, v)) changed.push(`${t.id}: ${JSON.stringify(t.firstFinal)} then ${JSON.stringify(v)}`);
    if (v.attempts > MAX_ATTEMPTS) overAttempts.push(`${t.id}(${v.attempts})`);
    if (v.status === 'completed' && NEVER_COMPLETES.has(t.kind)) impossible.push(`${t.id}(${t.kind})`);
    // Each retry is one finished attempt before the last. A task cancelled while it waited (pending,
    // or retrying) has no last attempt: every attempt was retried. One cancelled while running has
    // one, unless its worker died first (then the lost run is not an attempt): either count is right.
    const retries = Math.max(0, v.attempts - 1);
    const waited = v.status === 'cancelled' && t.cancel?.code === 200 && (t.cancel.previous === 'pending' || t.cancel.previous === 'retrying');
    const ranToCancel = v.status === 'cancelled' && !waited;
    expectedRetriedLo += waited ? v.attempts : retries;
    expectedRetriedHi += waited || ranToCancel ? v.attempts : retries;

    const finalAt = Date.parse((v.status === 'cancelled' ? v.cancelled_at : v.finished_at) ?? '');
    if (t.sentAt !== undefined && t.kind !== 'cancel_queued') latencies.push(finalAt - t.sentAt);
    const late = recs.filter((r) => r.startedAt > finalAt);
    if (late.length) ranAfterFinal.push(`${t.id}: final ${new Date(finalAt).toISOString()}, run started ${late.map((r) => new Date(r.startedAt).toISOString()).join(',')}`);

    const oks = recs.filter((r) => r.outcome === 'ok');
    let acceptedRun: RunRecord | undefined;
    if (v.status === 'completed') {
      const run = (v.result as { run?: Run } | null)?.run;
      acceptedRun = run && oks.find((r) => r.attempt === run.attempt && r.pid === run.pid && r.startedAt === run.started_at && r.endedAt === run.ended_at);
      if (!acceptedRun) noRecord.push(`${t.id}: result ${JSON.stringify(v.result)}, records ${JSON.stringify(recs)}`);
      // The accepted run was attempt n, so exactly n attempts ended: any other count moved after it.
      else if (acceptedRun.attempt !== v.attempts) attemptsOff.push(`${t.id}: run attempt ${acceptedRun.attempt}, attempts ${v.attempts}`);
    }
    // (b) completions a handler finished that Sluice did not accept.
    for (const r of oks) {
      if (r === acceptedRun) continue;
      discardedIds.push(t.id!);
      if (killedChildren.has(r.pid)) discarded.killed++;
      else if (v.status === 'cancelled') discarded.cancelled++;
      else discarded.superseded++;
    }
  }
  must0('(a) tasks whose final state or result changed after it was first seen', changed.length, changed);
  must0('(a) completed tasks whose result is no recorded run of their handler', noRecord.length, noRecord);
  must0('(a) runs started after their task was final', ranAfterFinal.length, ranAfterFinal);
  must0('(a) completed tasks whose attempts differ from their accepted run\'s', attemptsOff.length, attemptsOff);
  must0(`(a) tasks with more than ${MAX_ATTEMPTS} attempts`, overAttempts.length, overAttempts);
  must0('(a) tasks that cannot succeed shown completed', impossible.length, impossible);
  const dupLogs = [...x.completedLogs].filter(([id, n]) => ids.has(id) && n > 1);
  report('  corroboration: tasks with two `Task completed` log lines', dupLogs.length);
  if (dupLogs.length) evidence.push(`two Task completed lines: ${dupLogs.slice(0, 20).map(([id]) => id).join(' ')}`);

  const discardedTotal = discarded.killed + discarded.cancelled + discarded.superseded;
  report('(b) handler completions not accepted (allowed)', discardedTotal);
  report('  finished in a child of a worker that was then SIGKILLed', discarded.killed);
  report('  finished while a cancel terminated the run', discarded.cancelled);
  report('  refused as superseded (lock lost)', discarded.superseded);
  const supersededLines = [...x.superseded].filter(([id]) => ids.has(id)).reduce((s, [, n]) => s + n, 0);
  report('  corroboration: `Task run superseded` log lines (runs that finished or were stopped)', supersededLines);
  report('run records written by handlers (all outcomes)', `${records}${x.records.malformed ? `, ${x.records.malformed} malformed` : ''}`);
  if (x.records.malformed) rows[rows.length - 1].ok = false;

  latencies.sort((a, b) => a - b);
  const q = (p: number): string => (latencies.length ? `${(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1000).toFixed(1)}` : '—');
  report('seconds from first submission to final state, p50 / p99 / max (delayed tasks left out)', `${q(0.5)} / ${q(0.99)} / ${q(1)}`);

  // Counters against the final states counted one by one.
  const m = x.metrics;
  const counter = (check: string, got: number | undefined, want: number): void =>
    void rows.push({ check: `counter ${check}`, value: `${got ?? 'unavailable'}`, target: `${want} (counted one by one)`, ok: got === want });
  counter('total_tasks', m?.total_tasks, ids.size);
  counter('completed_tasks', m?.completed_tasks, finals.completed);
  counter('failed_tasks', m?.failed_tasks, finals.failed);
  counter('cancelled_tasks', m?.cancelled_tasks, finals.cancelled);
  const rt = m?.retried_tasks;
  rows.push({
    check: 'counter retried_tasks',
    value: `${rt ?? 'unavailable'}`,
    target:
      expectedRetriedLo === expectedRetriedHi
        ? `${expectedRetriedLo} (Σ attempts − 1)`
        : `${expectedRetriedLo}..${expectedRetriedHi} (Σ attempts − 1; a running task cancelled after its worker died: + 1)`,
    ok: rt !== undefined && rt >= expectedRetriedLo && rt <= expectedRetriedHi,
  });
  counter('currently_running', m?.currently_running, 0);

  // (d) orphans.
  const survivors = x.kills.flatMap((k) => k.survivors);
  const childCount = x.kills.reduce((s, k) => s + k.children.length, 0);
  must0(`(d) children of SIGKILLed workers alive 3 s later (of ${childCount})`, survivors.length, survivors.map(String));
  must0('(d) Sluice processes left after the run', x.orphansAtEnd.length, x.orphansAtEnd.map((p) => `${p.pid}(ppid ${p.ppid}) ${p.cmd}`));

  const kinds = renderKinds(byKind, accepted, x.records.byTask);
  const unexpected = [...byKind].flatMap(([kind, outcomes]) =>
    [...outcomes].filter(([o]) => !KINDS[kind].expected.includes(o) && !KINDS[kind].alsoAllowed.includes(o)).map(([o, n]) => `${kind}→${o}×${n}`),
  );
  must0('final states no fault explains (per kind, see below)', unexpected.length, unexpected);
  if (discardedIds.length) evidence.push(`tasks with a completion not accepted (allowed): ${[...new Set(discardedIds)].slice(0, 10).join(' ')}`);
  return { rows, kinds, evidence, passed: rows.every((r) => r.ok !== false) };
}

function describe(v: TaskView | 'missing' | null | undefined): string {
  if (v === 'missing') return '404';
  if (!v) return 'unreadable';
  return `${v.status}, attempts ${v.attempts}`;
}

function renderKinds(byKind: Map<Kind, Map<string, number>>, accepted: Tracked[], records: Map<string, RunRecord[]>): string {
  const lines = ['| kind | tasks | final states | run records (ok / error / crash) |', '|---|---|---|---|'];
  for (const kind of Object.keys(KINDS) as Kind[]) {
    const ts = accepted.filter((t) => t.kind === kind);
    const outcomes = [...(byKind.get(kind) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ');
    const recs = ts.flatMap((t) => records.get(t.id!) ?? []);
    const c = (o: string): number => recs.filter((r) => r.outcome === o).length;
    lines.push(`| ${kind} | ${ts.length} | ${outcomes || '—'} | ${c('ok')} / ${c('error')} / ${c('crash')} |`);
  }
  return lines.join('\n');
}

export function renderRows(rows: Row[]): string {
  const lines = ['| check | measured | target | verdict |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.check} | ${r.value} | ${r.target || '—'} | ${r.ok === null ? 'reported' : r.ok ? 'ok' : '**FAILED**'} |`);
  return lines.join('\n');
}
