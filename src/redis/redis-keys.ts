import { TaskStatus } from '../tasks/task-status';

/**
 * Every Redis key and channel Sluice uses, under QUEUE_PREFIX. With a hash-tag prefix such as
 * `{sluice}` they all share one cluster slot with BullMQ's own keys, so Lua scripts may touch both.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  task(id: string): string {
    return `${this.prefix}:task:${id}`;
  }
  /** Secondary indexes: sorted sets scored by submission sequence, so listing is O(log N + limit). */
  index(filter: { status?: TaskStatus; taskName?: string }): string {
    const parts = [`${this.prefix}:idx`];
    if (filter.taskName !== undefined) parts.push(`name:${filter.taskName}`);
    if (filter.status !== undefined) parts.push(`status:${filter.status}`);
    if (parts.length === 1) parts.push('all');
    return parts.join(':');
  }
  get sequence(): string {
    return `${this.prefix}:seq`;
  }
  /** Finished tasks by expiry time, so index entries can be trimmed when their records expire. */
  get expiry(): string {
    return `${this.prefix}:expiry`;
  }
  idempotency(key: string): string {
    return `${this.prefix}:idem:${key}`;
  }
  revoked(id: string): string {
    return `${this.prefix}:revoked:${id}`;
  }
  get revokeChannel(): string {
    return `${this.prefix}:revoke`;
  }
  get revokeAckChannel(): string {
    return `${this.prefix}:revoke:ack`;
  }
  get stats(): string {
    return `${this.prefix}:stats`;
  }
  /** Finished tasks by finish time, for the failure-rate window: all outcomes, or failures only. */
  outcomes(kind: 'all' | 'failed'): string {
    return `${this.prefix}:outcomes:${kind}`;
  }
  /** Tasks in `processing` by start time, for the task-duration alert. */
  get running(): string {
    return `${this.prefix}:running`;
  }
  heartbeat(workerId: string): string {
    return `${this.prefix}:hb:${workerId}`;
  }
  /** Worker ids by their last heartbeat time. */
  get heartbeats(): string {
    return `${this.prefix}:hb`;
  }
}
