/**
 * The process-wide keys and channels under QUEUE_PREFIX: worker heartbeats and revocation broadcasts.
 * A task's keys are per queue, with the queue's hash tag: see tasks/lifecycle/task-keys.ts.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  get revokeChannel(): string {
    return `${this.prefix}:revoke`;
  }
  get revokeAckChannel(): string {
    return `${this.prefix}:revoke:ack`;
  }
  /** Heartbeats share one hash tag, so they are read and written together on a Redis Cluster too. */
  heartbeat(workerId: string): string {
    return `${this.prefix}:{hb}:${workerId}`;
  }
  /** Worker ids by their last heartbeat time. */
  get heartbeats(): string {
    return `${this.prefix}:{hb}`;
  }
  /**
   * A hash written once per Redis dataset (id, created_at, and data_lost_at when it replaced a lost
   * one): its disappearance or change tells every pod that Redis lost its data.
   */
  get epoch(): string {
    return `${this.prefix}:epoch`;
  }
}
