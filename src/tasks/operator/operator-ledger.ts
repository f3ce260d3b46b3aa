import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../../redis/redis.module';
import { isScriptError, storeCall } from '../lifecycle/store-call';
import { CancelReply, TaskLedger, parseCancelReply } from '../lifecycle/task-ledger';
import { TaskQueues } from '../task-queues';
import { TaskStatus } from '../task-status';
import { StoreUnavailableError } from '../task.errors';

type Cmd = (...args: (string | number)[]) => Promise<unknown>;
type Pipeline = Record<string, Cmd> & { exec(): Promise<[Error | null, unknown][] | null> };

/** How many earlier attempt series a task keeps (lua/retry.lua drops the oldest beyond this). */
export const MAX_ATTEMPT_HISTORY = 100;


export type RetryReply =
  | { kind: 'missing' }
  | { kind: 'refused'; status: TaskStatus }
  | { kind: 'retried'; previous: TaskStatus.Failed | TaskStatus.Cancelled; queue: string; taskName: string };

export interface QueueState {
  queue: string;
  paused: boolean;
  pausedAt: number | null;
  /** The label of the key that paused it; null when unknown (paused without Sluice). */
  pausedBy: string | null;
}

/**
 * The operator controls' Redis side: each is one script on one queue's slot (lifecycle-scripts.ts):
 * retry wraps BullMQ's reprocessJob, pause and resume wrap BullMQ's pause, and bulk cancel runs
 * the same cancel script as DELETE, pipelined per queue.
 */
@Injectable()
export class OperatorLedger {
  private readonly sluice: Record<'sluiceRetry' | 'sluicePause' | 'sluiceQueueState', Cmd>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly queues: TaskQueues,
    private readonly ledger: TaskLedger,
  ) {
    this.sluice = redis as unknown as typeof this.sluice;
  }

  /** Tries each queue in turn; a task lives in exactly one. */
  async retry(id: string, now: number, by: string): Promise<RetryReply> {
    for (const queue of this.queues.names()) {
      const k = this.queues.keys(queue);
      const keys = [k.job(id), k.bull('events'), k.finished('failed'), k.bull('wait'), k.meta, k.active, k.bull('marker'), k.bull('prioritized'), k.bull('pc')];
      // reprocessJob's arguments: from the failed set, attemptsMade reset, attemptsStarted kept.
      const bull = [id, 'LPUSH', 'failedReason', 'failed', '1', '0'];
      const r = (await this.call(() => this.sluice.sluiceRetry(...keys, ...bull, k.base, now, this.ledger.retention(queue), by, MAX_ATTEMPT_HISTORY))) as string[];
      if (r[0] === 'refused') return { kind: 'refused', status: r[1] as TaskStatus };
      if (r[0] === 'retried') return { kind: 'retried', previous: r[1] as TaskStatus.Failed | TaskStatus.Cancelled, queue, taskName: r[2] };
    }
    return { kind: 'missing' };
  }

  /** Cancels tasks of one queue, each atomically with DELETE's script, in one round trip. */
  async cancelMany(queue: string, ids: string[], now: number): Promise<CancelReply[]> {
    if (ids.length === 0) return [];
    const k = this.queues.keys(queue);
    const pipe = this.redis.pipeline() as unknown as Pipeline;
    for (const id of ids) pipe.sluiceCancel(k.job(id), k.base, id, now);
    const replies = await this.call(() => pipe.exec());
    return (replies ?? []).map(([err, reply]): CancelReply => {
      if (err) throw this.unavailable(err);
      return parseCancelReply(reply as string[], queue) ?? { kind: 'missing' };
    });
  }

  /** Pauses (or resumes) a queue for every worker; returns whether it was paused before. */
  async setPaused(queue: string, paused: boolean, now: number, by: string): Promise<{ wasPaused: boolean; state: QueueState }> {
    const k = this.queues.keys(queue);
    const [src, dst] = paused ? (['wait', 'paused'] as const) : (['paused', 'wait'] as const);
    const keys = [k.bull(src), k.bull(dst), k.meta, k.bull('prioritized'), k.bull('events'), k.bull('delayed'), k.bull('marker')];
    let emit = '1';
    let wasPaused: boolean | undefined;
    for (;;) {
      const r = (await this.call(() => this.sluice.sluicePause(...keys, paused ? 'paused' : 'resumed', emit, now, by))) as [number, number, string, string];
      wasPaused ??= r[1] === 1;
      // A resume moves at most 7000 jobs of a legacy `paused` list (BullMQ < 5) per call.
      if (!(Number(r[0]) > 0)) return { wasPaused, state: parseState(queue, paused ? 1 : 0, r[2], r[3]) };
      emit = '0';
    }
  }

  async state(queue: string, now: number): Promise<QueueState> {
    const r = (await this.call(() => this.sluice.sluiceQueueState(this.queues.keys(queue).meta, now))) as [number, string, string];
    return parseState(queue, r[0], r[1], r[2]);
  }

  private unavailable(err: Error): Error {
    return isScriptError(err) ? err : new StoreUnavailableError(`Redis is unavailable: ${err.message}`);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return storeCall(fn);
  }
}

function parseState(queue: string, paused: number, pausedAt: string, pausedBy: string): QueueState {
  const on = Number(paused) === 1;
  return { queue, paused: on, pausedAt: on && pausedAt ? Number(pausedAt) : null, pausedBy: on && pausedBy ? pausedBy : null };
}
