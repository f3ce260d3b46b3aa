import { Injectable } from '@nestjs/common';
import { TaskStore, ListFilter } from './store/task-store';
import { TaskRecord } from './store/task-record';
import { TaskNotFoundError } from './task.errors';
import { isTaskId } from './task-id.util';


@Injectable()
export class TaskQuery {
  constructor(private readonly store: TaskStore) {}

  /** A malformed id is simply not found: it never reaches Redis. */
  async get(taskId: string): Promise<TaskRecord> {
    const record = isTaskId(taskId) ? await this.store.get(taskId) : null;
    if (!record) throw new TaskNotFoundError(taskId);
    return record;
  }

  list(filter: ListFilter, limit: number, cursor?: number): Promise<{ items: TaskRecord[]; nextCursor: number | null }> {
    return this.store.list(filter, limit, cursor);
  }
}
