import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { logEvent } from '../common/log-event';
import { CALLBACK_CONFIG } from '../config/config.module';
import { CallbackConfig } from '../config/configuration';
import { METRIC } from '../metrics/metric-names';
import { REDIS_CLIENT } from '../redis/redis.module';
import { presentTask } from '../tasks-api/task-presenter';
import { TaskQuery } from '../tasks/task-query.service';
import { TaskQueues } from '../tasks/task-queues';
import { CallbackUrlRefusedError, TaskNotFoundError } from '../tasks/task.errors';
import { CallbackUrlPolicy } from './callback-url';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signDelivery } from './callback-signature';

/** How often each dispatcher looks for due deliveries, and how many it claims per queue at once. */
const POLL_MS = 500;
const BATCH = 32;
/** A claim outlives the request by this much, so a slow answer is not delivered twice meanwhile. */
const LEASE_MARGIN_MS = 5000;
/** Enough of a receiver's error to tell what went wrong, not its whole page. */
const MAX_ERROR_LENGTH = 300;

export type CallbackFailureReason = 'http_status' | 'network' | 'timeout' | 'redirect' | 'refused';

interface Claim {
  queue: string;
  id: string;
  url: string;
  deliveryId: string;
  attempts: number;
}

type Attempt = { ok: true } | { ok: false; reason: CallbackFailureReason; error: string; final: boolean };
type Cmd = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Delivers completion webhooks. The intent to deliver is written by the transition that makes a
 * task final (lib.lua, sl_callback_due), into its queue's delivery schedule; every worker pod claims
 * due deliveries from it with a lease (lua/callback-claim.lua), POSTs the task as GET shows it,
 * signed, and records the attempt (lua/callback-done.lua): delivered, retried with doubling backoff,
 * or failed after CALLBACK_MAX_ATTEMPTS. A pod that dies mid-delivery leaves the claim to expire, so
 * a delivery can arrive twice but is never lost; receivers deduplicate by X-Sluice-Delivery.
 */
@Injectable()
export class CallbackDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CallbackDispatcher.name);
  private readonly policy: CallbackUrlPolicy;
  private readonly sluice: Record<'sluiceCallbackClaim' | 'sluiceCallbackDone', Cmd>;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    @Inject(CALLBACK_CONFIG) private readonly config: CallbackConfig,
    @Inject(REDIS_CLIENT) redis: Redis,
    private readonly queues: TaskQueues,
    private readonly query: TaskQuery,
    @InjectMetric(METRIC.callbackFailures) private readonly failures: Counter,
    @InjectMetric(METRIC.callbackDeliveries) private readonly deliveries: Counter,
  ) {
    this.policy = new CallbackUrlPolicy(config);
    this.sluice = redis as unknown as typeof this.sluice;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    }, POLL_MS);
    this.timer.unref();
  }

  /** Deliveries under way finish (each is bounded by CALLBACK_TIMEOUT); the rest wait in Redis. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.polling;
    await Promise.allSettled([...this.inFlight]);
  }

  /** One pass over every queue; exported for tests, which may not want to wait for the timer. */
  async poll(): Promise<void> {
    for (const queue of this.queues.names()) {
      if (this.stopping) return;
      let claims: Claim[];
      try {
        claims = await this.claim(queue);
      } catch (err) {
        this.logger.debug(logEvent('Webhook claim failed', { queue, error: (err as Error).message }));
        continue;
      }
      for (const c of claims) {
        const p = this.deliver(c).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    }
  }

  private async claim(queue: string): Promise<Claim[]> {
    const keys = this.queues.keys(queue);
    const lease = this.config.timeout * 1000 + LEASE_MARGIN_MS;
    const rows = (await this.sluice.sluiceCallbackClaim(keys.callbacks, keys.base, Date.now(), lease, BATCH)) as string[][];
    return rows.map(([id, url, deliveryId, attempts]) => ({ queue, id, url, deliveryId, attempts: Number(attempts) }));
  }

  private async deliver(c: Claim): Promise<void> {
    const attempt = await this.attempt(c).catch((err: Error): Attempt => ({ ok: false, reason: 'network', error: err.message, final: false }));
    if (!attempt.ok) this.failures.inc({ reason: attempt.reason });
    const keys = this.queues.keys(c.queue);
    const made = c.attempts + 1;
    const delayMs = Math.min(this.config.backoff * 2 ** (made - 1), this.config.backoffMax) * 1000;
    try {
      const [outcome, attempts] = (await this.sluice.sluiceCallbackDone(
        keys.job(c.id),
        keys.callbacks,
        c.id,
        c.deliveryId,
        attempt.ok ? '1' : '0',
        attempt.ok ? '' : attempt.error,
        Date.now(),
        this.config.maxAttempts,
        delayMs,
        !attempt.ok && attempt.final ? '1' : '0',
      )) as [string, number];
      if (outcome === 'delivered' || outcome === 'failed') this.deliveries.inc({ outcome });
      if (outcome === 'delivered') this.logger.log(logEvent('Webhook delivered', { task_id: c.id, delivery_id: c.deliveryId, attempts }));
      else if (outcome === 'failed') this.logger.error(logEvent('Webhook failed', { task_id: c.id, delivery_id: c.deliveryId, attempts, error: attempt.ok ? undefined : attempt.error }));
      else if (outcome === 'retrying') this.logger.warn(logEvent('Webhook retry scheduled', { task_id: c.id, delivery_id: c.deliveryId, attempts, retry_in_s: delayMs / 1000, error: attempt.ok ? undefined : attempt.error }));
    } catch (err) {
      // Not recorded: the claim expires and the delivery is made again (at least once).
      this.logger.warn(logEvent('Webhook attempt not recorded', { task_id: c.id, error: (err as Error).message }));
    }
  }

  private async attempt(c: Claim): Promise<Attempt> {
    let url: URL;
    try {
      // Again at delivery: CALLBACK_ALLOWED_HOSTS may have changed since the submission.
      url = this.policy.check(c.url);
    } catch (err) {
      if (!(err instanceof CallbackUrlRefusedError)) throw err;
      return { ok: false, reason: 'refused', error: err.message, final: true };
    }
    if (this.config.secret === undefined) return { ok: false, reason: 'refused', error: 'CALLBACK_SECRET is not set', final: true };
    let body: string;
    try {
      body = JSON.stringify(presentTask(await this.query.get(c.id)));
    } catch (err) {
      if (!(err instanceof TaskNotFoundError)) throw err;
      return { ok: false, reason: 'refused', error: 'the task expired before its webhook was delivered', final: true };
    }
    const timestamp = Math.floor(Date.now() / 1000);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        // A redirect is not followed: it could point anywhere, CALLBACK_ALLOWED_HOSTS or not.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeout * 1000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Sluice-Webhook/1',
          [TIMESTAMP_HEADER]: String(timestamp),
          [DELIVERY_HEADER]: c.deliveryId,
          [SIGNATURE_HEADER]: signDelivery(this.config.secret, timestamp, body),
        },
        body,
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') return { ok: false, reason: 'timeout', error: `no answer within ${this.config.timeout} s`, final: false };
      const cause = (e as Error & { cause?: Error }).cause?.message;
      return { ok: false, reason: 'network', error: cause ? `${e.message}: ${cause}` : e.message, final: false };
    }
    // The answer's body is not needed; reading it releases the connection.
    const text = (await res.text().catch(() => '')).slice(0, MAX_ERROR_LENGTH);
    if (res.status >= 200 && res.status < 300) return { ok: true };
    if (res.status >= 300 && res.status < 400) return { ok: false, reason: 'redirect', error: `answered ${res.status} (redirects are not followed)`, final: false };
    return { ok: false, reason: 'http_status', error: `answered ${res.status}${text ? `: ${text}` : ''}`, final: false };
  }
}
