import { Injectable, Logger } from '@nestjs/common';
import { logEvent } from '../../common/log-event';
import { TaskQueues } from '../task-queues';
import { OperatorLedger, QueueState } from './operator-ledger';
import { QueueNotFoundError } from './operator.errors';

/**
 * Pauses and resumes queues for every worker, through BullMQ's own `paused` flag in the queue's
 * meta hash: BullMQ's moveToActive and the fetch-next of every final move (Sluice's wrappers
 * included) take nothing while it is set, and running tasks finish. It lives in Redis, so it holds
 * across pods and restarts; when and by whom it was paused lives beside it.
 */
@Injectable()
export class QueuePauses {
  private readonly logger = new Logger(QueuePauses.name);

  constructor(
    private readonly ops: OperatorLedger,
    private readonly queues: TaskQueues,
  ) {}

  async pause(queue: string, by: string | undefined): Promise<QueueState> {
    this.known(queue);
    const { wasPaused, state } = await this.ops.setPaused(queue, true, Date.now(), by ?? '');
    if (!wasPaused) this.logger.warn(logEvent('Queue paused', { queue, key_label: by }));
    return state;
  }

  async resume(queue: string, by: string | undefined): Promise<QueueState> {
    this.known(queue);
    const { wasPaused, state } = await this.ops.setPaused(queue, false, Date.now(), by ?? '');
    if (wasPaused) this.logger.warn(logEvent('Queue resumed', { queue, key_label: by }));
    return state;
  }

  /** Every queue's state, one small script per queue: the same on every pod. */
  states(now = Date.now()): Promise<QueueState[]> {
    return Promise.all(this.queues.names().map((q) => this.ops.state(q, now)));
  }

  private known(queue: string): void {
    const names = this.queues.names();
    if (!names.includes(queue)) throw new QueueNotFoundError(queue, names);
  }
}
