import { Injectable } from '@nestjs/common';
import { TaskQueues } from '../tasks/task-queues';

export const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children'] as const;
export type QueueCounts = Record<string, Record<(typeof QUEUE_STATES)[number], number>>;

/** How long job counts are reused; every pod sees the same figures, so a few seconds is plenty. */
const TTL_MS = 2000;

/** BullMQ's constant-cost job counts per queue and state, cached and fetched once at a time. */
@Injectable()
export class QueueStats {
  private cached?: { at: number; counts: QueueCounts };
  private inflight?: Promise<QueueCounts>;

  constructor(private readonly queues: TaskQueues) {}

  async counts(): Promise<QueueCounts> {
    if (this.cached && Date.now() - this.cached.at < TTL_MS) return this.cached.counts;
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetch(): Promise<QueueCounts> {
    const counts: QueueCounts = {};
    await Promise.all(
      this.queues.names().map(async (name) => {
        counts[name] = (await this.queues.get(name).getJobCounts(...QUEUE_STATES)) as QueueCounts[string];
      }),
    );
    this.cached = { at: Date.now(), counts };
    return counts;
  }

  static total(counts: QueueCounts, ...states: (typeof QUEUE_STATES)[number][]): number {
    return Object.values(counts).reduce((sum, byState) => sum + states.reduce((s, st) => s + (byState[st] ?? 0), 0), 0);
  }
}
