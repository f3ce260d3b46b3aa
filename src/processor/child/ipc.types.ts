/**
 * Messages between the pool (parent) and a child process. The channel uses Node's JSON
 * serialization: it is what results must survive anyway, and measured here it moves a 100k
 * participant payload about twice as fast as `serialization: 'advanced'`.
 */
import type { LogFields } from '../../task-types/handler.types';

export interface ChildTask {
  taskId: string;
  taskName: string;
  payload: unknown;
  attempt: number;
  /** Epoch ms (parent and child share the clock), or null for no soft limit. */
  softDeadline: number | null;
}

export type ParentMessage =
  | { type: 'run'; task: ChildTask }
  /** Aborts the task's signal; sent by the parent's timer, since the child may be too busy to keep one. */
  | { type: 'soft_limit'; taskId: string };

export type ChildLogLevel = 'log' | 'warn' | 'error';

export type ChildMessage =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; taskId: string; pct: number; message?: string }
  | { type: 'log'; taskId: string; level: ChildLogLevel; message: string; fields?: LogFields }
  | ({ type: 'result'; taskId: string; result: unknown } & RunEnd)
  | ({ type: 'error'; taskId: string; error: { type: string; message: string }; retryable: boolean } & RunEnd);

/** What a child reports of itself with each task's end. */
export interface RunEnd {
  /**
   * The child's peak resident set so far, KiB (getrusage's ru_maxrss, as Celery's
   * max_memory_per_child reads it). The parent's check after a task reads this instead of procfs.
   */
  maxRssKiB?: number;
}

const CHILD_MESSAGE_TYPES: ReadonlySet<string> = new Set<ChildMessage['type']>(['ready', 'progress', 'log', 'result', 'error']);

/** Anything else on the channel (a handler calling process.send itself) is ignored, not trusted. */
export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && CHILD_MESSAGE_TYPES.has((value as { type?: unknown }).type as string);
}
