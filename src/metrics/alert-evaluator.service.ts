import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectMetric, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { ALERT_CONFIG } from '../config/config.module';
import { AlertConfig } from '../config/configuration';
import { DurabilityAlert, RedisDurability } from '../durability/redis-durability.service';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RedisKeys } from '../redis/redis-keys';
import { TaskQueues } from '../tasks/task-queues';
import { QueueState } from '../tasks/operator/operator-ledger';
import { QueuePauses } from '../tasks/operator/queue-pauses.service';
import { HEARTBEAT_TTL_MS, WorkerHeartbeat } from './heartbeat';
import { METRIC } from './metric-names';
import { QUEUE_STATES, QueueStats } from './queue-stats.service';
import { TaskStats, percentOf } from './task-stats.service';
import { logEvent } from '../common/log-event';

export type Severity = 'warning' | 'critical';
export interface Alert {
  severity: Severity;
  message: string;
  metric: 'failure_rate' | 'task_duration' | 'memory_usage' | 'workers' | 'queue_paused' | DurabilityAlert['metric'];
  value: number;
  task_id?: string;
  worker_id?: string;
  queue?: string;
  slot?: number;
  pid?: number;
  [key: string]: unknown;
}

export interface HealthReport {
  status: 'healthy' | 'warning' | 'critical';
  metrics: { total_tasks: number; success_rate: number; failure_rate: number };
  alerts: Alert[];
  timestamp: string;
}

export const ALERT_METRIC_PROVIDERS = [
  makeGaugeProvider({ name: METRIC.alertActive, help: 'Active health alerts by kind and severity', labelNames: ['alert', 'severity'] }),
  makeGaugeProvider({ name: METRIC.queueLength, help: 'Jobs per queue and BullMQ state (same on every API pod)', labelNames: ['queue', 'state'] }),
  makeGaugeProvider({ name: METRIC.queuePaused, help: '1 while the queue is paused (same on every API pod)', labelNames: ['queue'] }),
  makeGaugeProvider({ name: METRIC.queuePausedSeconds, help: 'Seconds since the queue was paused, 0 while it is not (same on every API pod)', labelNames: ['queue'] }),
  makeGaugeProvider({ name: METRIC.redisDataLost, help: '1 while the redis_data_lost alert holds (ALERT_DATA_LOST_HOLD after a wiped Redis was found), else 0' }),
];

const ALERT_KINDS = ['failure_rate', 'task_duration', 'memory_usage', 'workers', 'queue_paused', 'redis_persistence', 'redis_data_lost'] as const satisfies readonly Alert['metric'][];

/** At most this many running tasks are reported, oldest first, so the report stays bounded. */
const MAX_DURATION_ALERTS = 50;
const INTERVAL_NAME = 'sluice-alert-evaluation';

/**
 * Evaluates the seed's alerts every ALERT_EVAL_INTERVAL in each API process, from Redis state that
 * costs the same however many tasks have run; the health endpoint serves the latest evaluation.
 */
@Injectable()
export class AlertEvaluator implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AlertEvaluator.name);
  private latest?: HealthReport;
  private lastError?: Error;
  private active = new Map<string, Alert>();
  private running?: Promise<void>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly queues: TaskQueues,
    private readonly stats: TaskStats,
    private readonly queueStats: QueueStats,
    private readonly scheduler: SchedulerRegistry,
    private readonly durability: RedisDurability,
    private readonly pauses: QueuePauses,
    @Inject(ALERT_CONFIG) private readonly cfg: AlertConfig,
    @InjectMetric(METRIC.alertActive) private readonly alertGauge: Gauge,
    @InjectMetric(METRIC.queueLength) private readonly queueGauge: Gauge,
    @InjectMetric(METRIC.redisDataLost) private readonly dataLostGauge: Gauge,
    @InjectMetric(METRIC.queuePaused) private readonly pausedGauge: Gauge,
    @InjectMetric(METRIC.queuePausedSeconds) private readonly pausedSecondsGauge: Gauge,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.tick();
    const timer = setInterval(() => void this.tick(), this.cfg.evalInterval * 1000);
    timer.unref();
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
  }

  /** The latest evaluation, or undefined when Redis could not be read for it. */
  report(): HealthReport | undefined {
    return this.lastError ? undefined : this.latest;
  }

  /** Runs one evaluation now (ticks never overlap). */
  tick(): Promise<void> {
    this.running ??= this.evaluate()
      .then((r) => {
        this.latest = r;
        this.lastError = undefined;
      })
      .catch((err: Error) => {
        this.lastError = err;
        this.logger.warn(logEvent('Alert evaluation failed', { error: err.message }));
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async evaluate(): Promise<HealthReport> {
    const now = Date.now();
    const [snapshot, counts, failure, durations, memory, pauses] = await Promise.all([
      this.stats.snapshot(),
      this.queueStats.counts(),
      this.failureRate(now),
      this.taskDurations(now),
      this.heartbeats(now),
      this.pauses.states(now),
      // Every evaluation, so that a wiped Redis is reported within one ALERT_EVAL_INTERVAL.
      this.durability.checkEpoch(),
    ]);
    const waiting = QueueStats.total(counts, 'waiting', 'prioritized');
    const alerts: Alert[] = [...this.durability.alerts(now), ...failure, ...durations, ...memory.alerts, ...this.pausedQueues(pauses, now)];
    if (memory.alive === 0 && waiting > 0) {
      alerts.push({ severity: 'critical', metric: 'workers', value: waiting, message: `No worker is alive while ${waiting} tasks wait` });
    }
    this.publish(alerts, counts, pauses, now);
    const status = alerts.some((a) => a.severity === 'critical') ? 'critical' : alerts.length ? 'warning' : 'healthy';
    return {
      status,
      metrics: { total_tasks: snapshot.total_tasks, success_rate: snapshot.success_rate, failure_rate: snapshot.failure_rate },
      alerts,
      timestamp: new Date(now).toISOString(),
    };
  }

  private severity(value: number, warning: number, critical: number): Severity | undefined {
    if (value > critical) return 'critical';
    if (value > warning) return 'warning';
    return undefined;
  }

  /**
   * Share of the tasks finished (completed or failed) within the window that failed, over every
   * queue, from the per-second buckets the finishing scripts count; buckets older than the window
   * are dropped here.
   */
  private async failureRate(now: number): Promise<Alert[]> {
    const first = Math.floor((now - this.cfg.window * 1000) / 1000);
    let all = 0;
    let failed = 0;
    for (const queue of this.queues.names()) {
      const key = this.queues.keys(queue).window;
      const buckets = await this.redis.hgetall(key);
      const stale: string[] = [];
      for (const [field, v] of Object.entries(buckets)) {
        const [kind, minute] = field.split(':');
        if (Number(minute) < first) stale.push(field);
        else {
          all += Number(v);
          if (kind === 'fail') failed += Number(v);
        }
      }
      if (stale.length) await this.redis.hdel(key, ...stale);
    }
    if (all < this.cfg.minSamples) return [];
    const rate = percentOf(failed, all);
    const severity = this.severity(rate, this.cfg.failureRateWarning, this.cfg.failureRateCritical);
    if (!severity) return [];
    return [{ severity, metric: 'failure_rate', value: rate, message: `Failure rate ${rate}% over the last ${this.cfg.window} seconds (${failed} of ${all} tasks)` }];
  }

  /** Tasks running longer than the warning threshold: the oldest of BullMQ's active jobs, by processedOn. */
  private async taskDurations(now: number): Promise<Alert[]> {
    const since = now - this.cfg.taskDurationWarning * 1000;
    const oldest: [string, number][] = [];
    for (const queue of this.queues.names()) {
      const k = this.queues.keys(queue);
      // Workers push taken jobs to the head of the active list, so the tail holds the oldest.
      const ids = await this.redis.lrange(k.active, -MAX_DURATION_ALERTS, -1);
      if (ids.length === 0) continue;
      const multi = this.redis.multi();
      for (const id of ids) multi.hget(k.job(id), 'processedOn');
      const started = ((await multi.exec()) ?? []).map(([err, v]) => (err ? null : v === null ? null : Number(v)));
      ids.forEach((id, i) => {
        const at = started[i];
        if (at !== null && at !== undefined && at <= since) oldest.push([id, at]);
      });
    }
    oldest.sort((a, b) => a[1] - b[1]);
    return oldest.slice(0, MAX_DURATION_ALERTS).map(([id, startedAt]) => {
      const seconds = Math.round((now - startedAt) / 1000);
      const severity = this.severity(seconds, this.cfg.taskDurationWarning, this.cfg.taskDurationCritical) ?? 'warning';
      return { severity, metric: 'task_duration', value: seconds, task_id: id, message: `Task ${id} running for ${seconds} seconds` };
    });
  }

  /**
   * A paused queue takes no tasks, which health should show from the start: a warning, critical
   * once it has stayed paused longer than ALERT_QUEUE_PAUSED_AFTER (a pause that was forgotten).
   * paused_at lives in Redis, so every pod counts from the same moment.
   */
  private pausedQueues(states: QueueState[], now: number): Alert[] {
    return states
      .filter((q) => q.paused)
      .map((q) => {
        const elapsed = Math.max(0, (now - (q.pausedAt ?? now)) / 1000);
        const seconds = Math.round(elapsed);
        const late = elapsed > this.cfg.queuePausedAfter;
        const at = new Date(q.pausedAt ?? now).toISOString();
        return {
          severity: late ? 'critical' : 'warning',
          metric: 'queue_paused',
          value: seconds,
          queue: q.queue,
          paused_at: at,
          ...(q.pausedBy ? { paused_by: q.pausedBy } : {}),
          message: late
            ? `Queue ${q.queue} has been paused for ${seconds} seconds (since ${at}), longer than ALERT_QUEUE_PAUSED_AFTER (${this.cfg.queuePausedAfter} s): its tasks are not running`
            : `Queue ${q.queue} is paused (since ${at}): its tasks wait until it is resumed`,
        } satisfies Alert;
      });
  }

  private async heartbeats(now: number): Promise<{ alive: number; alerts: Alert[] }> {
    await this.redis.zremrangebyscore(this.keys.heartbeats, '-inf', `(${now - HEARTBEAT_TTL_MS}`);
    const ids = await this.redis.zrange(this.keys.heartbeats, '0', '-1');
    if (ids.length === 0) return { alive: 0, alerts: [] };
    const beats = (await this.redis.mget(ids.map((id) => this.keys.heartbeat(id)))).filter((b): b is string => b !== null);
    const alerts: Alert[] = [];
    for (const beat of beats.map((b) => JSON.parse(b) as WorkerHeartbeat)) {
      for (const child of beat.children) {
        const mb = Math.round((child.rss_bytes / (1024 * 1024)) * 10) / 10;
        const severity = this.severity(mb, this.cfg.memoryWarningMb, this.cfg.memoryCriticalMb);
        if (!severity) continue;
        alerts.push({
          severity,
          metric: 'memory_usage',
          value: mb,
          worker_id: beat.worker_id,
          slot: child.slot,
          ...(child.pid === null ? {} : { pid: child.pid }),
          ...(child.task_id ? { task_id: child.task_id } : {}),
          message: `Worker child pid=${child.pid} of ${beat.worker_id} using ${mb} MB`,
        });
      }
    }
    return { alive: beats.length, alerts };
  }

  /** Sets the gauges and logs each alert when it starts and when it clears. */
  private publish(alerts: Alert[], counts: Awaited<ReturnType<QueueStats['counts']>>, pauses: QueueState[], now: number): void {
    const next = new Map(alerts.map((a) => [`${a.metric}|${a.task_id ?? ''}|${a.worker_id ?? ''}|${a.slot ?? ''}|${a.queue ?? ''}`, a]));
    for (const [key, a] of next) {
      const before = this.active.get(key);
      if (!before || before.severity !== a.severity) this.logger.warn(logEvent('Alert started', { alert: a.metric, severity: a.severity, value: a.value, message: a.message }));
    }
    for (const [key, a] of this.active) {
      if (!next.has(key)) this.logger.log(logEvent('Alert cleared', { alert: a.metric, severity: a.severity }));
    }
    this.active = next;

    this.alertGauge.reset();
    for (const metric of ALERT_KINDS) {
      for (const severity of ['warning', 'critical'] as const) {
        this.alertGauge.set({ alert: metric, severity }, alerts.filter((a) => a.metric === metric && a.severity === severity).length);
      }
    }
    this.dataLostGauge.set(alerts.some((a) => a.metric === 'redis_data_lost') ? 1 : 0);
    for (const q of pauses) {
      this.pausedGauge.set({ queue: q.queue }, q.paused ? 1 : 0);
      this.pausedSecondsGauge.set({ queue: q.queue }, q.paused && q.pausedAt !== null ? Math.max(0, (now - q.pausedAt) / 1000) : 0);
    }
    for (const [queue, byState] of Object.entries(counts)) {
      for (const state of QUEUE_STATES) this.queueGauge.set({ queue, state }, byState[state] ?? 0);
    }
  }
}
