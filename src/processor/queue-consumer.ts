import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConnectionOptions } from 'bullmq';
import { SluiceWorker } from './sluice-worker';
import { REDIS_CONFIG, TASK_POLICY_CONFIG, WORKER_CONFIG } from '../config/config.module';
import { ConfigError } from '../config/config.errors';
import { RedisConfig, TaskPolicyConfig, WorkerConfig } from '../config/configuration';
import { Redis } from 'ioredis';
import { WORKER_REDIS } from './worker-redis';
import { RevocationBus } from '../tasks/revocation.bus';
import { TaskLedger } from '../tasks/lifecycle/task-ledger';
import { bullQueueName } from '../tasks/lifecycle/task-keys';
import { SLUICE_BACKOFF, TaskJobData } from '../tasks/job-options';
import { TaskRegistry } from '../tasks/task-registry';
import { ChildPool } from './pool/child-pool';
import { TaskRunner } from './task-runner';
import { logEvent } from '../common/log-event';

/**
 * BullMQ fails a job that stalled more often than this. Sluice counts each lost run as an attempt
 * instead (see TaskRunner), so the task's retries bound it; BullMQ's own limit is kept out of the way.
 */
const MAX_STALLED_COUNT = 1_000_000;
/** How often held tasks are checked against recorded revocations, in case a broadcast was missed. */
const REVOCATION_POLL_MS = 1000;

/**
 * Owns the BullMQ Workers of this process: they start only once the child pool is up, and on
 * shutdown stop fetching, let running tasks finish up to the hard time limit, and put back the rest.
 */
@Injectable()
export class QueueConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(QueueConsumer.name);
  private workers: SluiceWorker<TaskJobData>[] = [];
  private poll?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly runner: TaskRunner,
    private readonly pool: ChildPool,
    private readonly registry: TaskRegistry,
    private readonly ledger: TaskLedger,
    private readonly bus: RevocationBus,
    @Inject(WORKER_CONFIG) private readonly worker: WorkerConfig,
    @Inject(WORKER_REDIS) private readonly connection: Redis,
    @Inject(REDIS_CONFIG) private readonly redis: RedisConfig,
    @Inject(TASK_POLICY_CONFIG) private readonly policy: TaskPolicyConfig,
  ) {}

  get up(): boolean {
    return this.running && this.pool.serving && this.workers.every((w) => w.isRunning());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.checkRegistry();
    await this.pool.start();
    await this.bus.onRevoke((taskId) => void this.runner.revoke(taskId).catch((e: Error) => this.logger.error(e.stack)));
    this.workers = this.worker.queues.map((queue) => this.createWorker(queue));
    for (const w of this.workers) void w.run().catch((e: Error) => this.logger.error(logEvent('Worker stopped', { error: e.message })));
    this.poll = setInterval(() => void this.pollRevocations(), REVOCATION_POLL_MS);
    this.poll.unref();
    this.running = true;
    this.logger.log(logEvent('Worker consuming', { queues: this.worker.queues.join(','), children: this.worker.concurrency, worker_id: this.runner.workerId }));
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.poll);
    this.runner.drain();
    await Promise.all(this.workers.map((w) => w.pause(true)));
    await Promise.all(this.workers.map((w) => w.putBackFetched()));
    const { unfinished } = await this.pool.close(this.policy.timeLimit * 1000);
    if (unfinished.length) this.logger.warn(logEvent('Shutdown deadline reached; tasks put back in the queue', { task_ids: unfinished.join(',') }));
    await Promise.all(this.workers.map((w) => w.close()));
  }

  /** Ends a graceful drain now: running tasks are killed and put back in the queue. */
  hurry(): void {
    void this.pool.close(0);
  }

  /** A worker that cannot run what it consumes must not start. */
  private checkRegistry(): void {
    const queues = new Set<string>(this.registry.queues());
    const unknown = this.worker.queues.filter((q) => !queues.has(q));
    if (unknown.length) {
      throw new ConfigError('WORKER_QUEUES', `names queues no registered task type uses: ${unknown.join(', ')} (known: ${[...queues].join(', ')})`);
    }
  }

  private createWorker(queue: string): SluiceWorker<TaskJobData> {
    const w: SluiceWorker<TaskJobData> = new SluiceWorker<TaskJobData>(bullQueueName(queue), (job, token) => this.runner.process(job, token, w), {
      autorun: false,
      prefix: this.redis.prefix,
      // Shared with the runner's status updates (see worker-redis.ts); BullMQ duplicates it for blocking reads.
      connection: this.connection as unknown as ConnectionOptions,
      // Jobs beyond the free children wait inside this worker, still pending: Celery's prefetch.
      concurrency: this.worker.concurrency * this.worker.prefetchMultiplier,
      lockDuration: this.worker.lockDuration * 1000,
      stalledInterval: this.worker.stalledInterval * 1000,
      maxStalledCount: MAX_STALLED_COUNT,
      settings: {
        backoffStrategy: (_attemptsMade, type, err) => (type === SLUICE_BACKOFF ? this.runner.backoff(err) : -1),
      },
    });
    w.on('lockRenewalFailed', (ids: string[]) => this.runner.lockLost(ids));
    w.on('error', (err) => this.logger.error(logEvent('BullMQ worker error', { queue: queue, error: err.message })));
    return w;
  }

  private async pollRevocations(): Promise<void> {
    for (const [queue, ids] of this.runner.heldByQueue()) {
      const revoked = await this.ledger.cancelRequested(queue, ids).catch(() => []);
      for (const id of revoked) await this.runner.revoke(id).catch(() => undefined);
    }
  }
}
