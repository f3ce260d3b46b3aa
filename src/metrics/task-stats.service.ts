import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import { TaskQueues } from '../tasks/task-queues';
import { StoreUnavailableError } from '../tasks/task.errors';

export interface TaskMetricsSnapshot {
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  retried_tasks: number;
  cancelled_tasks: number;
  /** Failed or cancelled tasks an operator re-queued (POST /tasks/{id}/retry); each left failed_tasks or cancelled_tasks then. */
  requeued_tasks: number;
  success_rate: number;
  failure_rate: number;
  average_durations: Record<string, number>;
  currently_running: number;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
export const percentOf = (part: number, total: number): number => (total > 0 ? round2((part / total) * 100) : 0);

/**
 * The seed's JSON metrics, from counters and BullMQ's active list, which each status transition updates
 * in Redis, so every API pod reports the same figures. Cost does not grow with tasks run.
 */
@Injectable()
export class TaskStats {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly queues: TaskQueues,
  ) {}

  async snapshot(): Promise<TaskMetricsSnapshot> {
    const h: Record<string, number> = {};
    let active = 0;
    try {
      // One MULTI per queue (each queue's keys share a cluster slot): the counters and BullMQ's active
      // list move together in every transition script, so read together they never count a task as
      // both finished and running. Queues are summed here.
      for (const queue of this.queues.names()) {
        const k = this.queues.keys(queue);
        const replies = await this.redis.multi().hgetall(k.stats).llen(k.active).get(k.sequence).exec();
        const failed = replies?.find(([err]) => err);
        if (!replies || failed) throw failed?.[0] ?? new Error('MULTI was discarded');
        for (const [field, v] of Object.entries(replies[0][1] as Record<string, string>)) h[field] = (h[field] ?? 0) + Number(v);
        active += replies[1][1] as number;
        h.total = (h.total ?? 0) + Number(replies[2][1] ?? 0);
      }
    } catch (err) {
      throw new StoreUnavailableError(`Redis is unavailable: ${(err as Error).message}`);
    }
    const n = (k: string): number => Math.round(Number(h[k] ?? 0));
    const total = n('total');
    // A completed task counts once, under its name (see lib.lua's sl_finalize).
    let completed = 0;
    for (const [k, v] of Object.entries(h)) if (k.startsWith('duration_count:')) completed += Math.round(Number(v));
    const average_durations: Record<string, number> = {};
    for (const [k, v] of Object.entries(h)) {
      if (!k.startsWith('duration_sum:')) continue;
      const name = k.slice('duration_sum:'.length);
      const count = Number(h[`duration_count:${name}`] ?? 0);
      if (count > 0) average_durations[name] = round2(Number(v) / count);
    }
    return {
      total_tasks: total,
      completed_tasks: completed,
      failed_tasks: n('failed'),
      retried_tasks: n('retried'),
      cancelled_tasks: n('cancelled'),
      requeued_tasks: n('requeued'),
      success_rate: percentOf(completed, total),
      failure_rate: percentOf(n('failed'), total),
      average_durations,
      currently_running: active,
    };
  }
}
