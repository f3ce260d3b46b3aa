import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../../redis/redis.module';
import { coalesceWrites } from '../../redis/write-coalescing';
import { RedisKeys } from '../../redis/redis-keys';
import { StoreUnavailableError } from '../task.errors';
import { TaskStatus } from '../task-status';
import { TaskRecord, pairsToObject, parseRecord } from './task-record';
import {
  CANCEL_SCRIPT,
  CREATE_MANY_SCRIPT,
  CREATE_SCRIPT,
  DISCARD_SCRIPT,
  FINISH_SCRIPT,
  LIST_SCRIPT,
  PROGRESS_SCRIPT,
  START_SCRIPT,
  SWEEP_SCRIPT,
} from './task-store.scripts';

type Reply = (string | string[])[];

interface ScriptedRedis extends Redis {
  sluiceCreate(key: string, ...args: (string | number)[]): Promise<Reply>;
  sluiceCreateMany(...args: (string | number)[]): Promise<Reply[]>;
  sluiceDiscard(key: string, ...args: (string | number)[]): Promise<number>;
  sluiceStart(key: string, ...args: (string | number)[]): Promise<string[]>;
  sluiceFinish(key: string, ...args: (string | number)[]): Promise<string[]>;
  sluiceCancel(key: string, ...args: (string | number)[]): Promise<string[]>;
  sluiceProgress(key: string, ...args: (string | number)[]): Promise<number>;
  sluiceList(key: string, ...args: (string | number)[]): Promise<Reply>;
  sluiceSweep(...args: (string | number)[]): Promise<number>;
}

export interface CreateInput {
  id: string;
  taskName: string;
  queue: string;
  submittedAt: number;
  maxRetries: number;
  ttlSeconds: number;
  idempotency?: { key: string; value: string };
}
export type CreateResult = { created: true; seq: number } | { created: false; existing: string };

export type StartResult =
  | { kind: 'missing' }
  | { kind: 'final'; status: TaskStatus }
  | { kind: 'revoked'; previous: TaskStatus }
  | { kind: 'lost'; attempts: number; runId: string }
  | { kind: 'started'; previous: TaskStatus; attempts: number; dueAt: number | null };

export type FinishResult = { kind: 'missing' } | { kind: 'conflict'; status: TaskStatus } | { kind: 'ok' };

export type CancelResult =
  | { kind: 'missing' }
  | { kind: 'final'; status: TaskStatus; cancelledAt: number | null }
  | { kind: 'cancelled'; previous: TaskStatus; cancelledAt: number; taskName: string; queue: string }
  | { kind: 'running' };

export interface FinishInput {
  to: TaskStatus.Completed | TaskStatus.Failed | TaskStatus.Retrying | TaskStatus.Cancelled | TaskStatus.Pending;
  now: number;
  fields: Record<string, string | number>;
  /** Integer counter increments in the shared stats hash, applied with the transition. */
  stats: Record<string, number>;
  /**
   * Float increments (sums of seconds) in the same hash. Apart from `stats` because the type is the
   * field's, not the value's: a sum that grows by exactly 0 must still take HINCRBYFLOAT, as HINCRBY
   * on a field holding "1.25" fails (and would abort the script half way).
   */
  sums?: Record<string, number>;
  /** Feeds the failure-rate window: 'ok' for completed, 'fail' for failed. */
  outcome?: 'ok' | 'fail';
}

export interface ListFilter {
  status?: TaskStatus;
  taskName?: string;
}

/**
 * The task status records, their indexes and counters in Redis. Every transition is one Lua
 * script, so the status is never computed from BullMQ's state and its cost is the same at any backlog.
 */
@Injectable()
export class TaskStore {
  private readonly redis: ScriptedRedis;

  constructor(
    @Inject(REDIS_CLIENT) redis: Redis,
    readonly keys: RedisKeys,
  ) {
    this.redis = redis as ScriptedRedis;
    const define = (name: string, numberOfKeys: number, lua: string): void => {
      if (!(name in this.redis)) this.redis.defineCommand(name, { numberOfKeys, lua });
    };
    define('sluiceCreate', 1, CREATE_SCRIPT);
    define('sluiceCreateMany', 0, CREATE_MANY_SCRIPT);
    define('sluiceDiscard', 1, DISCARD_SCRIPT);
    define('sluiceStart', 1, START_SCRIPT);
    define('sluiceFinish', 1, FINISH_SCRIPT);
    define('sluiceCancel', 1, CANCEL_SCRIPT);
    define('sluiceProgress', 1, PROGRESS_SCRIPT);
    define('sluiceList', 1, LIST_SCRIPT);
    define('sluiceSweep', 0, SWEEP_SCRIPT);
  }

  /**
   * The commands sent on this store's connection until the queued promise callbacks have run leave
   * in one write: a transition and the BullMQ call right behind it (see coalesceWrites).
   */
  coalesceWrites(): void {
    coalesceWrites(this.redis);
  }

  async create(input: CreateInput): Promise<CreateResult> {
    const [id, ...rest] = this.createArgs(input);
    return this.call(async () => this.createResult(input, await this.redis.sluiceCreate(this.keys.task(input.id), this.keys.prefix, id, ...rest)));
  }

  /** Creates many records in one command (CREATE_MANY runs CREATE for each, atomically per task). */
  async createMany(inputs: CreateInput[]): Promise<CreateResult[]> {
    if (inputs.length === 1) return [await this.create(inputs[0])];
    if (inputs.length === 0) return [];
    const args: (string | number)[] = [this.keys.prefix];
    for (const input of inputs) args.push(...this.createArgs(input));
    const replies = await this.call(() => this.redis.sluiceCreateMany(...args));
    return replies.map((reply, i) => this.createResult(inputs[i], reply));
  }

  /** One task's CREATE arguments after the prefix, in the order both scripts expect. */
  private createArgs(input: CreateInput): (string | number)[] {
    return [
      input.id,
      input.taskName,
      input.queue,
      input.submittedAt,
      input.maxRetries,
      input.idempotency ? this.keys.idempotency(input.idempotency.key) : '',
      input.idempotency?.value ?? '',
      Math.ceil(input.ttlSeconds),
    ];
  }

  private createResult(input: CreateInput, reply: Reply): CreateResult {
    if (reply[0] === 'created') return { created: true, seq: Number(reply[1]) };
    if (reply[0] === 'exists') return { created: false, existing: reply[1] as string };
    throw new Error(`Task ${input.id} already exists`);
  }

  async discard(id: string, idempotencyKey?: string): Promise<void> {
    await this.call(() =>
      this.redis.sluiceDiscard(this.keys.task(id), this.keys.prefix, id, idempotencyKey ? this.keys.idempotency(idempotencyKey) : ''),
    );
  }

  async get(id: string): Promise<TaskRecord | null> {
    const h = await this.call(() => this.redis.hgetall(this.keys.task(id)));
    return Object.keys(h).length === 0 ? null : parseRecord(id, h);
  }

  async start(id: string, now: number, runId: string, workerId: string): Promise<StartResult> {
    const r = await this.call(() => this.redis.sluiceStart(this.keys.task(id), this.keys.prefix, id, now, runId, workerId));
    switch (r[0]) {
      case 'final':
        return { kind: 'final', status: r[1] as TaskStatus };
      case 'revoked':
        return { kind: 'revoked', previous: r[1] as TaskStatus };
      case 'lost':
        return { kind: 'lost', attempts: Number(r[1]), runId: r[2] };
      case 'started':
        return { kind: 'started', previous: r[1] as TaskStatus, attempts: Number(r[2]), dueAt: r[3] ? Number(r[3]) : null };
      default:
        return { kind: 'missing' };
    }
  }

  async finish(id: string, input: FinishInput): Promise<FinishResult> {
    const final = input.to !== TaskStatus.Retrying && input.to !== TaskStatus.Pending;
    const fields = Object.entries(input.fields);
    const counters = Object.entries(input.stats);
    const args: (string | number)[] = [this.keys.prefix, id, input.now, input.to, final ? '1' : '0', input.outcome ?? ''];
    args.push(fields.length);
    for (const [k, v] of fields) args.push(k, String(v));
    args.push(counters.length);
    for (const [k, v] of counters) args.push(k, Math.trunc(v));
    for (const [k, v] of Object.entries(input.sums ?? {})) args.push(k, String(v));
    const r = await this.call(() => this.redis.sluiceFinish(this.keys.task(id), ...args));
    if (r[0] === 'ok') return { kind: 'ok' };
    if (r[0] === 'conflict') return { kind: 'conflict', status: r[1] as TaskStatus };
    return { kind: 'missing' };
  }

  /** `revokeExtraSeconds`: how long the revocation outlives the record (see CANCEL_SCRIPT). */
  async cancel(id: string, now: number, revokeExtraSeconds: number): Promise<CancelResult> {
    const r = await this.call(() => this.redis.sluiceCancel(this.keys.task(id), this.keys.prefix, id, now, Math.ceil(revokeExtraSeconds)));
    switch (r[0]) {
      case 'final':
        return { kind: 'final', status: r[1] as TaskStatus, cancelledAt: r[2] ? Number(r[2]) : null };
      case 'cancelled':
        return { kind: 'cancelled', previous: r[1] as TaskStatus, cancelledAt: Number(r[2]), taskName: r[3], queue: r[4] };
      case 'running':
        return { kind: 'running' };
      default:
        return { kind: 'missing' };
    }
  }

  async isRevoked(id: string): Promise<boolean> {
    return (await this.call(() => this.redis.exists(this.keys.revoked(id)))) === 1;
  }

  async progress(id: string, runId: string, pct: number, message: string): Promise<void> {
    await this.call(() => this.redis.sluiceProgress(this.keys.task(id), runId, pct, message));
  }

  async list(filter: ListFilter, limit: number, cursor?: number): Promise<{ items: TaskRecord[]; nextCursor: number | null }> {
    const reply = await this.call(() =>
      this.redis.sluiceList(this.keys.index(filter), cursor === undefined ? '+inf' : cursor, limit, `${this.keys.prefix}:task:`),
    );
    const items: TaskRecord[] = [];
    for (let i = 1; i < reply.length; i += 2) {
      items.push(parseRecord(reply[i] as string, pairsToObject(reply[i + 1] as string[])));
    }
    return { items, nextCursor: reply[0] ? Number(reply[0]) : null };
  }

  /** Drops index entries of expired records; returns how many expiry entries were processed. */
  async sweep(now: number, batch = 500): Promise<number> {
    return this.call(() => this.redis.sluiceSweep(this.keys.prefix, now, batch));
  }

  /** Maps connection failures to StoreUnavailableError (503); script errors stay bugs (500). */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      throw new StoreUnavailableError(`Redis is unavailable: ${(err as Error).message}`);
    }
  }
}
