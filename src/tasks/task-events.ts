import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

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
  timeLimit: [TaskEventBase & { kind: 'soft' | 'hard' }];
}

@Injectable()
export class TaskEvents extends EventEmitter<TaskEventMap> {}
