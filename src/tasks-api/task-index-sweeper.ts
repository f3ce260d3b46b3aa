import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { TaskStore } from '../tasks/store/task-store';

const SWEEP_EVERY_MS = 30_000;
const BATCH = 500;
/** Bounds one sweep's work; whatever is left is taken on the next tick. */
const MAX_BATCHES = 20;
const INTERVAL_NAME = 'sluice-task-index-sweep';

/**
 * Finished task records expire after TASK_RESULT_EXPIRES; this removes their entries from the list
 * indexes, so the indexes do not grow forever. Idempotent, so every API pod may run it.
 */
@Injectable()
export class TaskIndexSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TaskIndexSweeper.name);

  constructor(
    private readonly store: TaskStore,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    timer.unref();
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
  }

  /** Returns how many expired entries were processed. */
  async sweep(now = Date.now()): Promise<number> {
    let total = 0;
    try {
      for (let i = 0; i < MAX_BATCHES; i++) {
        const n = await this.store.sweep(now, BATCH);
        total += n;
        if (n < BATCH) break;
      }
    } catch (err) {
      this.logger.warn(`Index sweep failed error=${(err as Error).message}`);
    }
    return total;
  }
}
