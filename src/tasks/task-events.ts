import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { TaskStatus } from './task-status';

export interface TaskEventBase {
  taskId: string;
  taskName: string;
  queue: string;
}

/** What happened to a task in this process; metrics listen, so the domain stays free of them. */
export interface TaskEventMap {
  submitted: [TaskEventBase];
  /** `queueWaitSeconds` is null for retries: BullMQ keeps no due time once a delayed job is promoted. */
  started: [TaskEventBase & { queueWaitSeconds: number | null }];
  succeeded: [TaskEventBase & { runtimeSeconds: number }];
  failed: [TaskEventBase & { exception: string; runtimeSeconds: number | null }];
  retried: [TaskEventBase & { exception: string; runtimeSeconds: number | null }];
  revoked: [TaskEventBase & { terminated: boolean }];
  /** An operator re-queued a finished task as a new attempt series (POST /tasks/{id}/retry). */
  requeued: [TaskEventBase & { from: TaskStatus.Failed | TaskStatus.Cancelled }];
  timeLimit: [TaskEventBase & { kind: 'soft' | 'hard' }];
}

@Injectable()
export class TaskEvents extends EventEmitter<TaskEventMap> {}
