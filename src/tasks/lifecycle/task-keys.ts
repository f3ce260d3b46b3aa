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
  running: 'sl:running',
  outcomesAll: 'sl:outcomes:all',
  outcomesFailed: 'sl:outcomes:failed',
  idx: 'sl:idx',
} as const;

/** Sluice's fields in the job hash. Short, like BullMQ's own (atm, ats, stc), since every task has them. */
export const TASK_FIELDS = {
  status: 'sst',
  score: 'ssq',
  fingerprint: 'sfp',
  ttl: 'sttl',
  cancelRequestedAt: 'scx',
  cancelledAt: 'sca',
  nextRetryAt: 'snr',
  lastRunFinishedAt: 'slf',
  progressMessage: 'spm',
  submittedBy: 'sby',
} as const;

/** The hash-tagged BullMQ queue name of a Sluice queue: `cpu_intensive` → `{cpu_intensive}`. */
export const bullQueueName = (queue: string): string => `{${queue}}`;
/** Inverse of bullQueueName, for names that BullMQ hands back (job.queueName). */
export const sluiceQueueName = (bullName: string): string => bullName.replace(/^\{(.*)\}$/, '$1');

export interface IndexFilter {
  status?: TaskStatus;
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
  get stats(): string {
    return this.base + SLUICE_KEY_SUFFIXES.stats;
  }
  get running(): string {
    return this.base + SLUICE_KEY_SUFFIXES.running;
  }
  outcomes(kind: 'all' | 'failed'): string {
    return this.base + (kind === 'all' ? SLUICE_KEY_SUFFIXES.outcomesAll : SLUICE_KEY_SUFFIXES.outcomesFailed);
  }
  /** List indexes: sorted sets scored by submission (see the add epilogue), newest last. */
  index(filter: IndexFilter): string {
    let key = this.base + SLUICE_KEY_SUFFIXES.idx;
    if (filter.taskName !== undefined) key += `:name:${filter.taskName}`;
    if (filter.status !== undefined) key += `:status:${filter.status}`;
    if (filter.taskName === undefined && filter.status === undefined) key += ':all';
    return key;
  }
  /** BullMQ's own sets of finished jobs. */
  finished(kind: 'completed' | 'failed'): string {
    return this.base + kind;
  }
}
