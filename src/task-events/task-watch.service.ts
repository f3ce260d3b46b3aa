import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { withDeadline } from '../common/deadline.util';
import { logEvent } from '../common/log-event';
import { REDIS_CONFIG } from '../config/config.module';
import { RedisConfig } from '../config/configuration';
import { BLOCKING_OPTIONS, createRedis } from '../redis/redis.factory';
import { TaskRecord } from '../tasks/lifecycle/task-record';
import { isTaskId } from '../tasks/task-id.util';
import { TaskQuery } from '../tasks/task-query.service';
import { TaskQueues } from '../tasks/task-queues';
import { FINAL_STATUSES } from '../tasks/task-status';
import { StoreUnavailableError, TaskNotFoundError } from '../tasks/task.errors';
import { QueueEventReader } from './queue-event-reader';

/** How long starting the readers may take before a watch answers 503. */
const START_DEADLINE_MS = 3000;
/** After a failed read, a watched task is read again this much later. */
const REREAD_MS = 1000;

/** Why a watch ended without the watcher asking: the API is shutting down, or the task is gone. */
export type WatchEnd = 'shutdown' | 'gone';

class Watcher {
  started = false;
  readonly first: Promise<void>;
  resolveFirst!: () => void;
  rejectFirst!: (err: Error) => void;

  constructor(
    readonly onState: (task: TaskRecord) => void,
    readonly onEnd: (why: WatchEnd) => void,
  ) {
    this.first = new Promise<void>((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
  }
}

/** A watched task: its watchers on this pod, and whether a read of it is in flight. */
class Topic {
  /** Known after the first read; later reads ask only that queue. */
  queue: string | null = null;
  readonly watchers = new Set<Watcher>();
  reading = false;
  /** Something happened while a read was in flight: read again when it is back. */
  dirty = false;
  retry?: NodeJS.Timeout;

  constructor(readonly id: string) {}
}

/**
 * Live task state without polling, for every client of this pod: one QueueEventReader per queue
 * (one connection each, started with the first watch) tells which tasks changed, and a changed task
 * that someone here watches is read once (one HMGET) and handed to all its watchers. So an event
 * costs the same Redis work with one client as with thousands, and no client holds a connection.
 *
 * Watchers get the task as it is, never a replay: the first state is read after the watch began, and
 * each later read is issued after the change that caused it, so no change is missed, and several
 * changes during one read are coalesced into the next.
 */
@Injectable()
export class TaskWatch implements OnModuleDestroy {
  private readonly logger = new Logger(TaskWatch.name);
  private readonly topics = new Map<string, Topic>();
  private readers?: Promise<QueueEventReader[]>;
  private closing = false;

  constructor(
    private readonly queues: TaskQueues,
    private readonly query: TaskQuery,
    @Inject(REDIS_CONFIG) private readonly redisConfig: RedisConfig,
  ) {}

  /**
   * Calls `onState` with the task as it is now, then after each change, until the returned function
   * is called or `onEnd` is. Resolves once the first state was handed over; throws
   * TaskNotFoundError, or StoreUnavailableError while Redis is away.
   */
  async subscribe(taskId: string, onState: (task: TaskRecord) => void, onEnd: (why: WatchEnd) => void): Promise<() => void> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(taskId);
    if (this.closing) throw new StoreUnavailableError('The API is shutting down');
    await this.startReaders();
    const watcher = new Watcher(onState, onEnd);
    let topic = this.topics.get(taskId);
    if (!topic) this.topics.set(taskId, (topic = new Topic(taskId)));
    topic.watchers.add(watcher);
    this.refresh(topic);
    await watcher.first;
    const t = topic;
    return () => this.remove(t, watcher);
  }

  /** The task once it is final, or as it is after `ms`, or when `signal` aborts. */
  async untilFinal(taskId: string, ms: number, signal?: AbortSignal): Promise<TaskRecord> {
    let latest!: TaskRecord;
    let done!: () => void;
    const over = new Promise<void>((resolve) => (done = resolve));
    const unsubscribe = await this.subscribe(
      taskId,
      (task) => {
        latest = task;
        if (FINAL_STATUSES.has(task.status)) done();
      },
      () => done(),
    );
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    if (signal?.aborted) done();
    try {
      await over;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      unsubscribe();
    }
    return latest;
  }

  /** Watchers on this pod, for tests and logs. */
  get watching(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.watchers.size;
    return n;
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    for (const topic of this.topics.values()) {
      clearTimeout(topic.retry);
      for (const w of topic.watchers) this.end(w, 'shutdown');
      topic.watchers.clear();
    }
    this.topics.clear();
    const readers = await this.readers?.catch(() => []);
    await Promise.all((readers ?? []).map((r) => withDeadline(r.stop(), 2000, () => new Error('timeout')).catch(() => undefined)));
  }

  private startReaders(): Promise<QueueEventReader[]> {
    this.readers ??= this.createReaders().catch((err: Error) => {
      this.readers = undefined;
      throw new StoreUnavailableError(`Redis is unavailable: ${err.message}`);
    });
    return this.readers;
  }

  private async createReaders(): Promise<QueueEventReader[]> {
    const readers = this.queues.names().map((queue) => {
      const connection = createRedis(this.redisConfig.url, BLOCKING_OPTIONS, `sluice:events:${queue}`);
      return new QueueEventReader(
        connection,
        queue,
        this.queues.keys(queue).base + 'events',
        (touched) => {
          for (const id of touched) {
            const topic = this.topics.get(id);
            if (topic) this.refresh(topic);
          }
        },
        // Entries may have been trimmed away while the connection was down.
        () => {
          for (const topic of this.topics.values()) if (topic.queue === queue) this.refresh(topic);
        },
      );
    });
    try {
      await withDeadline(Promise.all(readers.map((r) => r.start())), START_DEADLINE_MS, () => new Error('the events stream did not answer in time'));
    } catch (err) {
      await Promise.all(readers.map((r) => r.stop()));
      throw err;
    }
    return readers;
  }

  private refresh(topic: Topic): void {
    if (topic.reading) {
      topic.dirty = true;
      return;
    }
    topic.reading = true;
    void this.readLoop(topic);
  }

  private async readLoop(topic: Topic): Promise<void> {
    do {
      topic.dirty = false;
      let task: TaskRecord | null;
      try {
        task = await this.read(topic);
      } catch (err) {
        topic.reading = false;
        this.readFailed(topic, err as Error);
        return;
      }
      this.deliver(topic, task);
    } while (topic.dirty && topic.watchers.size > 0);
    topic.reading = false;
  }

  /** The task as GET shows it: one HMGET once its queue is known (one per queue until then, as GET). */
  private async read(topic: Topic): Promise<TaskRecord | null> {
    if (topic.queue !== null) return this.query.getIn(topic.queue, topic.id);
    try {
      const task = await this.query.get(topic.id);
      topic.queue = task.queue;
      return task;
    } catch (err) {
      if (err instanceof TaskNotFoundError) return null;
      throw err;
    }
  }

  private deliver(topic: Topic, task: TaskRecord | null): void {
    for (const w of [...topic.watchers]) {
      if (task === null) {
        if (w.started) this.end(w, 'gone');
        else w.rejectFirst(new TaskNotFoundError(topic.id));
        this.remove(topic, w);
        continue;
      }
      try {
        w.onState(task);
      } catch (err) {
        this.logger.error(logEvent('Task watcher failed', { task_id: topic.id, error: (err as Error).message }));
      }
      if (!w.started) {
        w.started = true;
        w.resolveFirst();
      }
    }
  }

  /** New watchers get the error (a 503); the others keep their stream and the task is read again soon. */
  private readFailed(topic: Topic, err: Error): void {
    for (const w of [...topic.watchers]) {
      if (w.started) continue;
      w.rejectFirst(err);
      this.remove(topic, w);
    }
    if (topic.watchers.size === 0 || topic.retry) return;
    this.logger.warn(logEvent('Task watch read failed', { task_id: topic.id, error: err.message }));
    topic.retry = setTimeout(() => {
      topic.retry = undefined;
      if (topic.watchers.size > 0) this.refresh(topic);
    }, REREAD_MS);
    topic.retry.unref();
  }

  private end(w: Watcher, why: WatchEnd): void {
    if (!w.started) {
      w.rejectFirst(new StoreUnavailableError('The API is shutting down'));
      return;
    }
    try {
      w.onEnd(why);
    } catch {
      // The watcher's own cleanup failed; nothing is left to tell it.
    }
  }

  private remove(topic: Topic, w: Watcher): void {
    topic.watchers.delete(w);
    if (topic.watchers.size > 0 || this.topics.get(topic.id) !== topic) return;
    clearTimeout(topic.retry);
    this.topics.delete(topic.id);
  }
}
