import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { TaskRecord } from '../tasks/lifecycle/task-record';
import { FINAL_STATUSES } from '../tasks/task-status';
import { TaskStatusDto } from './dto/task-responses.dto';

/** The SSE event names: a new status, or the same status with news (progress, mostly). */
export const TASK_EVENT = { status: 'status', progress: 'progress' } as const;

/** A client that reads slower than this much is behind is cut off; its EventSource reconnects. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * An event's id: a digest of its data, the task as GET shows it. Resuming needs nothing else: the
 * server reads the task once, and sends it unless its digest is the client's Last-Event-ID.
 */
export const taskEventId = (data: string): string => createHash('sha256').update(data).digest('base64url').slice(0, 22);

/**
 * One client's Server-Sent Events stream of one task: its `body` is what the reply sends. Each
 * state pushed is written as an event unless it is what the client last got (the state before a
 * Last-Event-ID included), a comment keeps the connection alive every `heartbeatMs`, and the
 * stream ends after a final state.
 */
export class TaskEventStream {
  readonly body = new PassThrough();
  /** Events written so far. */
  written = 0;
  private lastId: string | undefined;
  private lastStatus: string | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly present: (task: TaskRecord) => TaskStatusDto,
    heartbeatMs: number,
    lastEventId?: string,
  ) {
    this.lastId = lastEventId;
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), heartbeatMs);
    this.heartbeat.unref();
    this.body.on('close', () => this.stop());
  }

  get ended(): boolean {
    return this.closed;
  }

  push(task: TaskRecord): void {
    if (this.closed) return;
    const data = JSON.stringify(this.present(task));
    const id = taskEventId(data);
    if (id !== this.lastId) {
      const event = this.lastStatus === undefined || this.lastStatus !== task.status ? TASK_EVENT.status : TASK_EVENT.progress;
      // JSON.stringify escapes line breaks, so the data is one `data:` line.
      this.write(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`);
      this.written++;
      this.lastId = id;
      this.lastStatus = task.status;
    }
    if (FINAL_STATUSES.has(task.status)) this.end();
  }

  /** Ends the stream after what was written (the final state, or shutdown). */
  end(): void {
    if (this.closed) return;
    this.stop();
    this.body.end();
  }

  /** Drops the stream without a response (an error before it was sent). */
  destroy(): void {
    this.stop();
    this.body.destroy();
  }

  /** Called once when the stream ends, whoever ends it (the client going away included). */
  onClose(fn: () => void): void {
    this.body.once('close', fn);
  }

  private write(text: string): void {
    if (this.closed) return;
    if (this.body.writableLength > MAX_BUFFERED_BYTES) {
      this.destroy();
      return;
    }
    this.body.write(text);
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
  }
}
