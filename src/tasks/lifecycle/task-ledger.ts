import { Inject, Injectable } from '@nestjs/common';
import { JobsOptions } from 'bullmq';
import { Redis, ReplyError } from 'ioredis';
import { Packr } from 'msgpackr';
import { REDIS_CLIENT } from '../../redis/redis.module';
import { TaskStatus } from '../task-status';
import { OutcomeUnknownError, StoreUnavailableError } from '../task.errors';
import { TaskQueues } from '../task-queues';
import { TaskRegistry } from '../task-registry';
import { IndexFilter, QueueKeys, TASK_FIELDS } from './task-keys';
import { RECORD_FIELDS, TaskRecord, parseRecord } from './task-record';
import { SubmitVariant } from './lifecycle-scripts';
import { Cmd, SubmitCall, SubmitSender } from './submit-sender';
import { isScriptError, storeCall } from './store-call';

/** Packs like BullMQ's own backend, so its Lua reads Sluice's submissions as its own. */
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

/** 1-based positions, in RECORD_FIELDS, of the fields list.lua filters and expires by. */
const STATUS_AT = RECORD_FIELDS.indexOf(TASK_FIELDS.status) + 1;
const FINISHED_AT = RECORD_FIELDS.indexOf('finishedOn') + 1;

export interface SubmitSpec {
  id: string;
  queue: string;
  taskName: string;
  /** The job data, already JSON: big payloads are serialised once. */
  dataJson: string;
  opts: JobsOptions;
  timestamp: number;
  /** '' unless the submission carries an idempotency key. */
  fingerprint: string;
  ttlSeconds: number;
  /** The submitting key's label, or ''. */
  submittedBy: string;
  /** options.callback_url, checked against CALLBACK_ALLOWED_HOSTS, or ''. */
  callbackUrl: string;
}

export type SubmitReply = { created: true; score: number } | { created: false; fingerprint: string; status: TaskStatus };

export type CancelReply =
  | { kind: 'missing' }
  | { kind: 'final'; status: TaskStatus; cancelledAt: number | null }
  | { kind: 'running'; queue: string }
  | { kind: 'cancelled'; previous: TaskStatus; queue: string; taskName: string; cancelledAt: number };

/**
 * Every task transition that does not happen inside BullMQ's own calls: submission, cancel,
 * progress, reads and retention. Each is one script on one queue's slot (see lifecycle-scripts).
 */
@Injectable()
export class TaskLedger {
  /** Sluice's own commands (lifecycle-scripts.ts), defined on this connection by redis.factory. */
  private readonly sluice: Record<'sluiceList' | 'sluiceCancel' | 'sluiceProgress' | 'sluiceReap', Cmd>;
  private readonly retentionByQueue = new Map<string, number>();
  private readonly sender: SubmitSender;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly queues: TaskQueues,
    registry: TaskRegistry,
  ) {
    this.sluice = redis as unknown as typeof this.sluice;
    this.sender = new SubmitSender(redis);
    for (const t of registry.all()) {
      this.retentionByQueue.set(t.policy.queue, Math.max(this.retentionByQueue.get(t.policy.queue) ?? 0, t.policy.resultExpires));
    }
  }

  /** How long a queue's finished tasks are kept: the longest TASK_RESULT_EXPIRES of its types. */
  retention(queue: string): number {
    return this.retentionByQueue.get(queue) ?? 0;
  }

  private keys(queue: string): QueueKeys {
    return this.queues.keys(queue);
  }

  /**
   * Submits tasks of one queue, each atomically (job, Sluice fields, indexes, counter), with the
   * submissions of concurrent requests (SubmitSender). Throws OutcomeUnknownError when Redis may or
   * may not have applied them.
   */
  async submit(queue: string, specs: SubmitSpec[]): Promise<SubmitReply[]> {
    // Offline commands are refused by this connection (enableOfflineQueue: false), so while it is
    // not ready nothing can reach Redis: that 503 may say so. Past this point it may have.
    if (this.redis.status !== 'ready') throw new StoreUnavailableError('Redis is unavailable; the task was not submitted');
    const q = this.queues.get(queue);
    const keys = this.keys(queue);
    const backend = (q as unknown as { backend: Record<string, (job: { data: string }, encodedOpts: Buffer, args: unknown[]) => (string | Buffer)[]> }).backend;
    const calls = specs.map((s): SubmitCall => {
      const variant: SubmitVariant = (s.opts.delay ?? 0) > 0 ? 'delayed' : s.opts.priority ? 'prioritized' : 'standard';
      const bullArgs = [keys.base, s.id, s.taskName, s.timestamp, null, null, undefined, undefined, null, null];
      const argv = backend[`add${variant[0].toUpperCase()}${variant.slice(1)}JobArgs`].call(
        backend,
        { data: s.dataJson },
        packr.pack({ ...s.opts, jobId: s.id }),
        bullArgs,
      );
      return { variant, argv: [...argv, keys.base, s.id, s.taskName, s.timestamp, s.fingerprint, Math.ceil(s.ttlSeconds), s.submittedBy, s.callbackUrl] };
    });
    // The sender answers each call with its reply or its error; it does not reject.
    const replies = await this.sender.send(queue, calls);
    return replies.map(([err, reply]) => {
      if (err) throw this.unavailable(err);
      const r = reply as (string | number)[];
      if (r[0] === 1) return { created: true, score: Number(r[1]) };
      if (r[0] === 0) return { created: false, fingerprint: String(r[1]), status: r[2] as TaskStatus };
      throw new Error(`BullMQ refused the job (code ${r[0]})`);
    });
  }

  /** O(1) in the backlog: one HMGET per queue, at most. */
  async get(id: string): Promise<TaskRecord | null> {
    const now = Date.now();
    const queues = this.queues.names();
    const values = await this.call(() => Promise.all(queues.map((queue) => this.redis.hmget(this.keys(queue).job(id), ...RECORD_FIELDS))));
    for (const [i, queue] of queues.entries()) {
      const r = parseRecord(id, queue, values[i], now, this.retention(queue));
      if (r) return r;
    }
    return null;
  }

  /** The task in a known queue: one HMGET (TaskWatch reads a watched task this way on each change). */
  async getIn(queue: string, id: string): Promise<TaskRecord | null> {
    const values = await this.call(() => this.redis.hmget(this.keys(queue).job(id), ...RECORD_FIELDS));
    return parseRecord(id, queue, values, Date.now(), this.retention(queue));
  }

  /**
   * One page, newest first, across queues: each queue's index is paged by the same score. A status
   * filter is applied while reading, so a page may hold fewer than `limit` tasks; `nextCursor`
   * is null only when nothing is left.
   */
  async list(filter: IndexFilter, limit: number, cursor?: number): Promise<{ items: TaskRecord[]; nextCursor: number | null }> {
    const now = Date.now();
    const queues = this.queues.names();
    const replies = await this.call(() =>
      Promise.all(
        queues.map((queue) => {
          const k = this.keys(queue);
          const max = cursor === undefined ? '+inf' : String(cursor);
          return this.sluice.sluiceList(
            k.index(filter),
            max,
            limit + 1,
            k.base,
            now,
            this.retention(queue),
            [filter.status ?? []].flat().join(','),
            STATUS_AT,
            FINISHED_AT,
            ...RECORD_FIELDS,
          ) as Promise<(string | (string | null)[])[]>;
        }),
      ),
    );
    // Every queue was read from the cursor down to its `resume` score; below the highest of those,
    // some queue is still unread, so this page stops there.
    let bound = -Infinity;
    const all: TaskRecord[] = [];
    for (const [q, flat] of replies.entries()) {
      if (flat[0] !== '') bound = Math.max(bound, Number(flat[0]));
      for (let i = 1; i < flat.length; i += 3) {
        const r = parseRecord(flat[i] as string, queues[q], flat[i + 1] as (string | null)[], now, this.retention(queues[q]), Number(flat[i + 2]));
        if (r) all.push(r);
      }
    }
    const candidates = all.filter((r) => r.score >= bound).sort((a, b) => b.score - a.score);
    const items = candidates.slice(0, limit);
    if (candidates.length > limit) return { items, nextCursor: items[items.length - 1].score };
    return { items, nextCursor: bound > -Infinity ? bound : null };
  }

  /** Tries each queue in turn; a task lives in exactly one. */
  async cancel(id: string, now: number): Promise<CancelReply> {
    for (const queue of this.queues.names()) {
      const k = this.keys(queue);
      const reply = parseCancelReply((await this.call(() => this.sluice.sluiceCancel(k.job(id), k.base, id, now))) as string[], queue);
      if (reply) return reply;
    }
    return { kind: 'missing' };
  }

  /** Fenced: refused unless `token` still holds the task's lock. */
  async progress(queue: string, id: string, token: string, pct: number, message: string): Promise<boolean> {
    const k = this.keys(queue);
    return (await this.sluice.sluiceProgress(k.job(id), token, pct, message, k.base, id)) === 1;
  }

  /** Which of these tasks have a cancel request recorded (a missed broadcast is caught here). */
  async cancelRequested(queue: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const k = this.keys(queue);
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hexists(k.job(id), 'scx');
    const replies = (await pipe.exec()) ?? [];
    return ids.filter((_, i) => replies[i]?.[1] === 1);
  }

  /** Removes expired finished tasks of one queue; returns how many. */
  async reap(queue: string, now: number, ttlSeconds: number, batch: number): Promise<number> {
    const k = this.keys(queue);
    return Number(
      await this.call(() => this.sluice.sluiceReap(k.finished('completed'), k.base, now, Math.ceil(ttlSeconds), batch)),
    );
  }

  /**
   * Once the commands were written, a failure without a reply leaves the outcome unknown (each task
   * was applied whole or not at all). A reply with a transient Redis error code says the script did
   * not run; any other error reply is a bug (500).
   */
  /** A submission's failure: without an answer, its outcome is unknown (see OutcomeUnknownError). */
  private unavailable(err: Error): Error {
    if (!(err instanceof ReplyError)) return new OutcomeUnknownError(err.message);
    return isScriptError(err) ? err : new StoreUnavailableError(`Redis refused the submission: ${err.message}`);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return storeCall(fn);
  }
}

/** cancel.lua's reply, or undefined when the task is not in that queue. */
export function parseCancelReply(r: string[], queue: string): CancelReply | undefined {
  switch (r[0]) {
    case 'final':
      return { kind: 'final', status: r[1] as TaskStatus, cancelledAt: r[2] ? Number(r[2]) : null };
    case 'running':
      return { kind: 'running', queue };
    case 'cancelled':
      return { kind: 'cancelled', previous: r[1] as TaskStatus, queue, taskName: r[2], cancelledAt: Number(r[3]) };
    default:
      return undefined;
  }
}
