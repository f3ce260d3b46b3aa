import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RedisKeys } from '../redis/redis-keys';
import { duplicateRedis } from '../redis/redis.factory';

type Listener = (taskId: string) => void;

/**
 * Broadcasts revocations to every worker and carries their confirmations back, like Celery's
 * broadcast revoke. The revocation itself is also recorded in Redis (TaskStore.cancel), so a
 * worker that misses the message still discards or terminates the task when it next looks.
 */
@Injectable()
export class RevocationBus implements OnApplicationShutdown {
  private readonly logger = new Logger(RevocationBus.name);
  private subscriber?: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly subscribed = new Map<string, Promise<void>>();

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Tells every worker to terminate the task; resolves to how many processes heard it. */
  async revoke(taskId: string): Promise<number> {
    return this.redis.publish(this.keys.revokeChannel, taskId);
  }

  /** A worker confirms that the task's child has exited. */
  async confirm(taskId: string): Promise<void> {
    await this.redis.publish(this.keys.revokeAckChannel, taskId);
  }

  onRevoke(listener: Listener): Promise<void> {
    return this.listen(this.keys.revokeChannel, listener);
  }

  /**
   * Resolves true when a worker confirms `taskId` within `ms`. Subscribes before `trigger` runs so
   * a fast confirmation cannot be missed.
   */
  async awaitConfirmation(taskId: string, ms: number, trigger: () => Promise<boolean>): Promise<boolean> {
    let done!: (ok: boolean) => void;
    const confirmed = new Promise<boolean>((resolve) => (done = resolve));
    const listener: Listener = (id) => {
      if (id === taskId) done(true);
    };
    await this.listen(this.keys.revokeAckChannel, listener);
    const timer = setTimeout(() => done(false), ms);
    try {
      if (!(await trigger())) done(false);
      return await confirmed;
    } finally {
      clearTimeout(timer);
      this.listeners.get(this.keys.revokeAckChannel)?.delete(listener);
    }
  }

  private async listen(channel: string, listener: Listener): Promise<void> {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(listener);
    let ready = this.subscribed.get(channel);
    if (!ready) {
      ready = this.connection().subscribe(channel).then(() => undefined);
      this.subscribed.set(channel, ready);
      ready.catch(() => this.subscribed.delete(channel));
    }
    await ready;
  }

  private connection(): Redis {
    if (!this.subscriber) {
      // ioredis re-subscribes after a reconnect, so a Redis restart does not deafen a worker.
      this.subscriber = duplicateRedis(this.redis, { enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
      this.subscriber.on('error', (err: Error) => this.logger.debug(`Revocation subscriber error: ${err.message}`));
      this.subscriber.on('message', (channel: string, message: string) => {
        for (const l of this.listeners.get(channel) ?? []) l(message);
      });
    }
    return this.subscriber;
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }
}
