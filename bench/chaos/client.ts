import { HttpClient, sleep } from '../lib/http';
import { KINDS, Kind } from './mix';

/**
 * The soak's view of each task, built only from what the HTTP API answered: a client's view.
 * Submissions carry idempotency keys and are retried with the same key on 503 or a timeout, as the
 * API's 503 detail tells a client to.
 */

export interface TaskView {
  status: string;
  result: unknown;
  error: { type: string; message: string } | null;
  attempts: number;
  finished_at: string | null;
  cancelled_at: string | null;
}

export interface Tracked {
  index: number;
  kind: Kind;
  key: string;
  body: string;
  id?: string;
  /** 201 or 200 for the answer that gave the id. */
  code?: number;
  /** Date.now() when the first submission was sent. */
  sentAt?: number;
  /** Answers 503, and requests that timed out or lost their connection, before the id was known. */
  unavailable: number;
  transportErrors: number;
  /** Answers 5xx other than 503: the API promises 503 for an unknown outcome, so these are findings. */
  serverErrors: number;
  serverErrorBody?: string;
  /** A 4xx or other unexpected answer, or no answer within the deadline. */
  submitError?: string;
  /** Another task id came back for the same key. */
  idMismatch?: string;
  /** Submit it again with the same key once accepted (cancel kinds excepted). */
  replayAfter: boolean;
  /** A deliberate second submission with the same key: its code and whether the id matched. */
  replay?: { code: number; sameId: boolean };
  cancel?: { code: number; detail: string; attempts: number; previous?: string };
  /** The first answer that showed a final state, and the last answer seen. */
  firstFinal?: TaskView;
  last?: TaskView;
  notFound: number;
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);
export const isFinal = (status: string | undefined): boolean => status !== undefined && FINAL.has(status);

const REQUEST_TIMEOUT_MS = 15_000;

export class ChaosClient {
  constructor(
    private readonly http: HttpClient,
    private readonly rnd: () => number,
    /** Give up on one operation after this long (the run has then failed). */
    private readonly giveUpMs: number,
  ) {}

  static bodyFor(t: Pick<Tracked, 'kind' | 'key'>, payload: Record<string, unknown>, runLog: string): string {
    const spec = KINDS[t.kind];
    const options: Record<string, unknown> = { idempotency_key: t.key };
    if (spec.delaySeconds) options.delay_seconds = spec.delaySeconds;
    return JSON.stringify({ task_name: spec.task_name, payload: { ...payload, run_log: runLog }, options });
  }

  private backoff(): Promise<void> {
    return sleep(200 + Math.floor(this.rnd() * 300));
  }

  /** Submits until the API answers with a task id; a 503 says the outcome is unknown, so the same key is sent again. */
  async submit(t: Tracked): Promise<void> {
    const deadline = Date.now() + this.giveUpMs;
    t.sentAt = Date.now();
    while (Date.now() < deadline) {
      let status: number;
      let body: string;
      try {
        ({ status, body } = await this.http.request('POST', '/api/v1/tasks', t.body, REQUEST_TIMEOUT_MS));
      } catch {
        t.transportErrors++;
        await this.backoff();
        continue;
      }
      if (status === 201 || status === 200) {
        const id = (JSON.parse(body) as { task_id: string }).task_id;
        if (t.id && t.id !== id) t.idMismatch = `${t.id} then ${id}`;
        t.id = id;
        t.code = status;
        return;
      }
      if (status === 503) {
        t.unavailable++;
        await this.backoff();
        continue;
      }
      if (status >= 500) {
        // With an idempotency key a retry is safe whatever the answer said, so go on and count it.
        t.serverErrors++;
        t.serverErrorBody ??= body.slice(0, 300);
        await this.backoff();
        continue;
      }
      t.submitError = `${status} ${body.slice(0, 300)}`;
      return;
    }
    t.submitError = `no task id within ${this.giveUpMs} ms`;
  }

  /** A second submission with the same key: must answer 200 with the same task. */
  async replay(t: Tracked): Promise<void> {
    const deadline = Date.now() + this.giveUpMs;
    while (Date.now() < deadline) {
      const r = await this.http.request('POST', '/api/v1/tasks', t.body, REQUEST_TIMEOUT_MS).catch(() => null);
      if (!r || r.status === 503) {
        await this.backoff();
        continue;
      }
      const id = r.status < 300 ? (JSON.parse(r.body) as { task_id: string }).task_id : undefined;
      t.replay = { code: r.status, sameId: id === t.id };
      return;
    }
  }

  /** GET /api/v1/tasks/{id}: the view, 'missing' on 404, null when unavailable. */
  async view(id: string): Promise<TaskView | 'missing' | null> {
    const r = await this.http.request('GET', `/api/v1/tasks/${id}`, undefined, REQUEST_TIMEOUT_MS).catch(() => null);
    if (!r) return null;
    if (r.status === 404) return 'missing';
    if (r.status !== 200) return null;
    const d = JSON.parse(r.body) as TaskView;
    return { status: d.status, result: d.result, error: d.error, attempts: d.attempts, finished_at: d.finished_at, cancelled_at: d.cancelled_at };
  }

  /** Polls once and records what it saw. */
  async observe(t: Tracked): Promise<void> {
    if (!t.id) return;
    const v = await this.view(t.id);
    if (v === null) return;
    if (v === 'missing') {
      t.notFound++;
      return;
    }
    t.last = v;
    if (isFinal(v.status)) t.firstFinal ??= v;
  }

  /**
   * Cancels a task: a running one once the API shows it processing (or after `waitRunningMs`), a
   * queued one at once. DELETE is retried on 503 or a timeout; cancelling twice is harmless.
   */
  async cancel(t: Tracked, waitRunningMs: number): Promise<void> {
    if (!t.id) return;
    if (t.kind === 'cancel_running') {
      const until = Date.now() + waitRunningMs;
      while (Date.now() < until) {
        const v = await this.view(t.id);
        if (v && v !== 'missing' && (v.status === 'processing' || isFinal(v.status))) break;
        await sleep(100);
      }
      // Let it run a little: the cancel must terminate a running child, not just a fresh pickup.
      await sleep(150 + Math.floor(this.rnd() * 300));
    }
    const deadline = Date.now() + this.giveUpMs;
    let attempts = 0;
    while (Date.now() < deadline) {
      attempts++;
      const r = await this.http.request('DELETE', `/api/v1/tasks/${t.id}`, undefined, REQUEST_TIMEOUT_MS).catch(() => null);
      if (!r || r.status === 503) {
        await this.backoff();
        continue;
      }
      let previous: string | undefined;
      try {
        previous = (JSON.parse(r.body) as { previous_state?: string }).previous_state;
      } catch {
        /* not JSON: kept in detail */
      }
      t.cancel = { code: r.status, detail: r.body.slice(0, 200), attempts, previous };
      return;
    }
    t.cancel = { code: 0, detail: `no answer within ${this.giveUpMs} ms`, attempts };
  }

  async metrics(): Promise<Record<string, number> | null> {
    const r = await this.http.request('GET', '/api/v1/tasks/metrics', undefined, REQUEST_TIMEOUT_MS).catch(() => null);
    if (!r || r.status !== 200) return null;
    return (JSON.parse(r.body) as { metrics: Record<string, number> }).metrics;
  }
}
