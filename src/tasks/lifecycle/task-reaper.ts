import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { TaskLedger } from './task-ledger';
import { TaskQueues } from '../task-queues';
import { logEvent } from '../../common/log-event';

const REAP_EVERY_MS = 5_000;
const BATCH = 500;
/** Bounds one tick's work; whatever is left is taken on the next tick. */
const MAX_BATCHES = 20;

/**
 * Retention, not repair: a finished task is gone for the API as soon as its TASK_RESULT_EXPIRES
 * passes (reads check it), and this frees its memory soon after, job and index entries together in
 * one script per batch. Idempotent, so every pod may run it.
 */
@Injectable()
export class TaskReaper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TaskReaper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ledger: TaskLedger,
    private readonly queues: TaskQueues,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reap(), REAP_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Returns how many tasks were removed. */
  async reap(now = Date.now()): Promise<number> {
    let total = 0;
    try {
      for (const queue of this.queues.names()) {
        const ttl = this.ledger.retention(queue);
        for (let i = 0; i < MAX_BATCHES; i++) {
          const n = await this.ledger.reap(queue, now, ttl, BATCH);
          total += n;
          if (n < BATCH * 2) break;
        }
      }
    } catch (err) {
      this.logger.warn(logEvent('Retention pass failed', { error: (err as Error).message }));
    }
    return total;
  }
}
