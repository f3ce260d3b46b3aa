import { Injectable, Logger } from '@nestjs/common';
import { logEvent } from '../../common/log-event';
import { CancelReply, TaskLedger } from '../lifecycle/task-ledger';
import { TaskTransitions } from '../lifecycle/task-transitions';
import { RevocationBus } from '../revocation.bus';
import { isTaskId } from '../task-id.util';
import { TaskQueues } from '../task-queues';
import { TaskStatus } from '../task-status';
import { OperatorLedger } from './operator-ledger';

/** The statuses a task can be cancelled in, and so the ones a filter can select. */
export const CANCELLABLE_STATUSES = [TaskStatus.Pending, TaskStatus.Retrying, TaskStatus.Processing] as const;
export type CancellableStatus = (typeof CANCELLABLE_STATUSES)[number];

/** Most tasks one call cancels. */
export const MAX_BULK_CANCEL = 1000;

/** A list position is at least its submission milliseconds × 4096 (see add-job.lua, sl_next_pos). */
const SCORE_PER_MS = 4096;

export type BulkCancelCriteria =
  | { taskIds: string[] }
  | {
      taskName?: string;
      status?: CancellableStatus;
      /** Epoch ms: only tasks submitted before it. */
      submittedBefore?: number;
      limit: number;
      /** The previous call's nextCursor. */
      cursor?: number;
    };

export interface BulkCancelResult {
  cancelled: number;
  terminationRequested: number;
  alreadyFinal: number;
  notFound: number;
  /** Filter only: where the next call goes on; null when nothing is left. */
  nextCursor: number | null;
}

/**
 * Cancels many tasks: those named, or a page of those a filter selects (the list indexes, newest
 * first, from a cursor). Each task is cancelled with DELETE's own script, atomically on its own: a
 * waiting one is taken out of the queue at once, a running one gets its cancel request recorded and
 * its worker is told on the revocation channel, as DELETE does, without waiting for it.
 */
@Injectable()
export class BulkCancellation {
  private readonly logger = new Logger(BulkCancellation.name);

  constructor(
    private readonly ops: OperatorLedger,
    private readonly ledger: TaskLedger,
    private readonly queues: TaskQueues,
    private readonly transitions: TaskTransitions,
    private readonly bus: RevocationBus,
  ) {}

  async cancel(criteria: BulkCancelCriteria, by: string | undefined): Promise<BulkCancelResult> {
    const now = Date.now();
    const result: BulkCancelResult = { cancelled: 0, terminationRequested: 0, alreadyFinal: 0, notFound: 0, nextCursor: null };
    const running: string[] = [];
    const settle = (id: string, r: CancelReply): void => {
      switch (r.kind) {
        case 'cancelled':
          result.cancelled++;
          this.transitions.cancelledWaiting({ taskId: id, taskName: r.taskName, queue: r.queue });
          break;
        case 'running':
          result.terminationRequested++;
          running.push(id);
          break;
        case 'final':
          result.alreadyFinal++;
          break;
        case 'missing':
          result.notFound++;
      }
    };

    if ('taskIds' in criteria) {
      const ids = [...new Set(criteria.taskIds)];
      let left = ids.filter(isTaskId);
      result.notFound += ids.length - left.length;
      // A task lives in one queue; the cancel script answers `missing` on the others.
      for (const queue of this.queues.names()) {
        if (left.length === 0) break;
        const replies = await this.ops.cancelMany(queue, left, now);
        left = left.filter((id, i) => {
          if (replies[i].kind === 'missing') return true;
          settle(id, replies[i]);
          return false;
        });
      }
      result.notFound += left.length;
    } else {
      const before = criteria.submittedBefore === undefined ? undefined : criteria.submittedBefore * SCORE_PER_MS;
      const cursor = before === undefined ? criteria.cursor : Math.min(before, criteria.cursor ?? before);
      const status = criteria.status === undefined ? [...CANCELLABLE_STATUSES] : [criteria.status];
      const page = await this.ledger.list({ status, taskName: criteria.taskName }, criteria.limit, cursor);
      const byQueue = new Map<string, string[]>();
      for (const t of page.items) byQueue.set(t.queue, [...(byQueue.get(t.queue) ?? []), t.id]);
      for (const [queue, ids] of byQueue) {
        const replies = await this.ops.cancelMany(queue, ids, now);
        ids.forEach((id, i) => settle(id, replies[i]));
      }
      result.nextCursor = page.nextCursor;
    }

    // The same terminate path as DELETE: the worker holding the task stops its child (and polls for
    // recorded cancel requests, should this broadcast be missed).
    await Promise.all(running.map((id) => this.bus.revoke(id).catch(() => 0)));
    this.logger.warn(
      logEvent('Tasks cancelled in bulk', {
        cancelled: result.cancelled,
        termination_requested: result.terminationRequested,
        already_final: result.alreadyFinal,
        not_found: result.notFound,
        key_label: by,
      }),
    );
    return result;
  }
}
