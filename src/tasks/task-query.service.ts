import { Injectable } from '@nestjs/common';
import { TaskLedger } from './lifecycle/task-ledger';
import { IndexFilter } from './lifecycle/task-keys';
import { TaskRecord } from './lifecycle/task-record';
import { LIMIT_OPTS, timeLimitsOf } from './task-limits';
import { TaskRegistry } from './task-registry';
import { TaskNotFoundError } from './task.errors';
import { isTaskId } from './task-id.util';

@Injectable()
export class TaskQuery {
  constructor(
    private readonly ledger: TaskLedger,
    private readonly registry: TaskRegistry,
  ) {}

  /** A malformed id is simply not found: it never reaches Redis. */
  async get(taskId: string): Promise<TaskRecord> {
    const record = isTaskId(taskId) ? await this.ledger.get(taskId) : null;
    if (!record) throw new TaskNotFoundError(taskId);
    return this.withLimits(record);
  }

  /** The task in the queue it was found in before, as get() shows it; null when it is gone. */
  async getIn(queue: string, taskId: string): Promise<TaskRecord | null> {
    const record = await this.ledger.getIn(queue, taskId);
    return record && this.withLimits(record);
  }

  async list(filter: IndexFilter, limit: number, cursor?: number): Promise<{ items: TaskRecord[]; nextCursor: number | null }> {
    const page = await this.ledger.list(filter, limit, cursor);
    return { ...page, items: page.items.map((r) => this.withLimits(r)) };
  }

  /** The limits the task runs under, as the worker computes them (timeLimitsOf). */
  private withLimits(record: TaskRecord): TaskRecord {
    const policy = this.registry.find(record.taskName)?.policy;
    if (!policy) return record;
    const opts = { [LIMIT_OPTS.timeLimit]: record.timeLimit ?? undefined, [LIMIT_OPTS.softTimeLimit]: record.softTimeLimit ?? undefined };
    return { ...record, ...timeLimitsOf(policy, opts) };
  }
}
