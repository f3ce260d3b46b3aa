import { Injectable } from '@nestjs/common';
import { TaskLedger } from './lifecycle/task-ledger';
import { IndexFilter } from './lifecycle/task-keys';
import { TaskRecord } from './lifecycle/task-record';
import { TaskNotFoundError } from './task.errors';
import { isTaskId } from './task-id.util';

@Injectable()
export class TaskQuery {
  constructor(private readonly ledger: TaskLedger) {}

  /** A malformed id is simply not found: it never reaches Redis. */
  async get(taskId: string): Promise<TaskRecord> {
    const record = isTaskId(taskId) ? await this.ledger.get(taskId) : null;
    if (!record) throw new TaskNotFoundError(taskId);
    return record;
  }

  list(filter: IndexFilter, limit: number, cursor?: number): Promise<{ items: TaskRecord[]; nextCursor: number | null }> {
    return this.ledger.list(filter, limit, cursor);
  }
}
