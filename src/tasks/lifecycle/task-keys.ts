import { TaskStatus } from '../task-status';

/**
 * Where a task lives in Redis. A task *is* its BullMQ job: the hash `<prefix>:{<queue>}:<id>`, with
 * Sluice's fields (below) next to BullMQ's. Every key of a queue, BullMQ's and Sluice's, carries the
 * queue's hash tag, so each script touches one cluster slot and queues spread across masters.
 *
 * The Lua scripts build the same names from `SLUICE_KEY_SUFFIXES` (see lifecycle-scripts.ts), so
 * this file is the one place where a key name is spelled.
 */
export const SLUICE_KEY_SUFFIXES = {
  seq: 'sl:seq',
  stats: 'sl:stats',
  /** The failure-rate window: finished tasks per second, fields `ok:<epoch s>` and `fail:<epoch s>`. */
  window: 'sl:win',
  idx: 'sl:idx',
  /** Completion webhooks due: task id → when (ms) a dispatcher may claim the delivery next. */
  callbacks: 'sl:cb',
} as const;

/** Sluice's fields in the job hash. Short, like BullMQ's own (atm, ats, stc), since every task has them. */
export const TASK_FIELDS = {
  status: 'sst',
  fingerprint: 'sfp',
  cancelRequestedAt: 'scx',
  cancelledAt: 'sca',
  nextRetryAt: 'snr',
  lastRunFinishedAt: 'slf',
  progressMessage: 'spm',
  submittedBy: 'sby',
  /** options.callback_url, and the delivery's state once the task is final. */
  callbackUrl: 'scu',
  callbackStatus: 'scs',
  callbackAttempts: 'scn',
  callbackDelivery: 'scd',
  callbackError: 'sce',
  /** Earlier attempt series of a retried task (POST /tasks/{id}/retry): a JSON list. */
  attemptHistory: 'sah',
} as const;

/**
 * A key of the job's own options (BullMQ keeps unknown ones): when an operator retry made the task
 * runnable again, so that the worker measures that series' queue wait from then.
 */
export const RETRIED_AT_OPT = 'sluiceRetriedAt';

/** Sluice's fields in a queue's BullMQ meta hash, next to BullMQ's `paused`. */
export const QUEUE_META_FIELDS = {
  pausedAt: 'sl:paused_at',
  pausedBy: 'sl:paused_by',
} as const;

/**
 * Where lowered time limits travel (see task-limits): keys of the job's own BullMQ options, which
 * BullMQ keeps as they are in the job hash's `opts`, so the worker (job.opts) and GET (which reads
 * `opts` already) read the same value and nothing else is stored. Written only when lowered;
 * retries go in BullMQ's `attempts`, as for every task.
 */
export const LIMIT_OPTS = { timeLimit: 'sl_tl', softTimeLimit: 'sl_stl' } as const;
export type LimitOpts = Partial<Record<(typeof LIMIT_OPTS)[keyof typeof LIMIT_OPTS], number>>;

/** The hash-tagged BullMQ queue name of a Sluice queue: `cpu_intensive` → `{cpu_intensive}`. */
export const bullQueueName = (queue: string): string => `{${queue}}`;
/** Inverse of bullQueueName, for names that BullMQ hands back (job.queueName). */
// Per task in the worker: a slice, not a regular expression.
export const sluiceQueueName = (bullName: string): string => (bullName.startsWith('{') && bullName.endsWith('}') ? bullName.slice(1, -1) : bullName);

export interface IndexFilter {
  /** One status, or any of several (bulk cancel: every status a task can be cancelled in). */
  status?: TaskStatus | TaskStatus[];
  taskName?: string;
}

export class QueueKeys {
  /** BullMQ's key prefix for this queue (its `queue.keys['']`): every key below starts with it. */
  readonly base: string;

  constructor(
    readonly prefix: string,
    readonly queue: string,
  ) {
    this.base = `${prefix}:${bullQueueName(queue)}:`;
  }

  job(id: string): string {
    return this.base + id;
  }
  /** Submissions so far: the metrics' total. */
  get sequence(): string {
    return this.base + SLUICE_KEY_SUFFIXES.seq;
  }
  get stats(): string {
    return this.base + SLUICE_KEY_SUFFIXES.stats;
  }
  /** Completion webhooks due (see lua/callback-claim.lua). */
  get callbacks(): string {
    return this.base + SLUICE_KEY_SUFFIXES.callbacks;
  }
  get window(): string {
    return this.base + SLUICE_KEY_SUFFIXES.window;
  }
  /** One of BullMQ's own keys of this queue, for a script that wraps BullMQ's. */
  bull(name: 'wait' | 'paused' | 'prioritized' | 'delayed' | 'events' | 'marker' | 'pc'): string {
    return this.base + name;
  }
  /** BullMQ's queue meta hash: `paused`, and Sluice's QUEUE_META_FIELDS. */
  get meta(): string {
    return this.base + 'meta';
  }
  /** BullMQ's list of the jobs workers hold now. */
  get active(): string {
    return this.base + 'active';
  }
  /**
   * List indexes: sorted sets scored by submission (see the add epilogue), one of all tasks and
   * one per task name. A status filter is applied while reading (see list.lua): per-status indexes
   * would cost four more commands and two more entries for every task.
   */
  index(filter: Pick<IndexFilter, 'taskName'>): string {
    return this.base + SLUICE_KEY_SUFFIXES.idx + (filter.taskName === undefined ? ':all' : `:name:${filter.taskName}`);
  }
  /** BullMQ's own sets of finished jobs. */
  finished(kind: 'completed' | 'failed'): string {
    return this.base + kind;
  }
}
