import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, ReplyError } from 'ioredis';
import { ALERT_CONFIG } from '../config/config.module';
import { AlertConfig } from '../config/configuration';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RedisKeys } from '../redis/redis-keys';
import { InfoReply, RedisSettingsVerdict, assessRedisSettings, describeSettings, settingsVerified } from './redis-settings';
import { logEvent } from '../common/log-event';

/** The settings are re-read this often, and on every reconnect (a failover may land elsewhere). */
export const SETTINGS_CHECK_INTERVAL_MS = 60_000;

/** A type, not an interface, so that it fits the health report's open-ended Alert. */
export type DurabilityAlert = {
  severity: 'warning' | 'critical';
  metric: 'redis_persistence' | 'redis_data_lost';
  value: number;
  message: string;
  data_lost_at?: string;
};

interface Epoch {
  id: string;
  createdAt: number;
  dataLostAt?: number;
  previous?: string;
}

/**
 * Checks, rather than assumes, that Redis keeps its data: the persistence and eviction settings,
 * and the dataset's epoch. Each process remembers the epoch it saw; one that finds it missing or
 * changed records `data_lost_at` in the epoch hash, where every pod reads it, so all pods report
 * the loss for ALERT_DATA_LOST_HOLD seconds whichever noticed first.
 */
@Injectable()
export class RedisDurability implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RedisDurability.name);
  private readonly epochLua = readFileSync(join(__dirname, 'lua', 'epoch.lua'), 'utf8');
  private settings?: RedisSettingsVerdict;
  private epoch?: Epoch;
  private epochCheck?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private readonly onReady = (): void => void this.checkAll();

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    @Inject(ALERT_CONFIG) private readonly cfg: AlertConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), SETTINGS_CHECK_INTERVAL_MS);
    this.timer.unref();
    // A Redis that comes back may be an empty one: look at once, not at the next evaluation.
    this.redis.on('ready', this.onReady);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.redis.off('ready', this.onReady);
  }

  /** Reads the epoch, recording a loss if it vanished or changed. Concurrent calls share one read. */
  checkEpoch(): Promise<void> {
    this.epochCheck ??= this.readEpoch().finally(() => (this.epochCheck = undefined));
    return this.epochCheck;
  }

  /** The durability alerts as of the last checks. */
  alerts(now = Date.now()): DurabilityAlert[] {
    const alerts: DurabilityAlert[] = [];
    if (this.settings && !settingsVerified(this.settings)) {
      const { problems, unverified } = this.settings;
      alerts.push({ severity: 'warning', metric: 'redis_persistence', value: problems.length + unverified.length, message: describeSettings(this.settings) });
    }
    const lostAt = this.epoch?.dataLostAt;
    if (lostAt !== undefined && now - lostAt < this.cfg.dataLostHold * 1000) {
      const at = new Date(lostAt).toISOString();
      alerts.push({
        severity: 'critical',
        metric: 'redis_data_lost',
        value: Math.max(0, Math.round((now - lostAt) / 1000)),
        data_lost_at: at,
        message: `Redis lost its data (found at ${at}): tasks, results and counters written before then are gone`,
      });
    }
    return alerts;
  }

  /** Timer and reconnect checks: a Redis that is away now is reported by the evaluation, not here. */
  private async checkAll(): Promise<void> {
    const results = await Promise.allSettled([this.checkSettings(), this.checkEpoch()]);
    for (const r of results) if (r.status === 'rejected') this.logger.debug(logEvent('Redis durability check skipped', { error: (r.reason as Error).message }));
  }

  private async readEpoch(): Promise<void> {
    const reply = (await this.redis.eval(this.epochLua, 1, this.keys.epoch, this.epoch?.id ?? '', randomUUID(), String(Date.now()))) as (string | null)[];
    const [id, createdAt, dataLostAt, previous] = reply;
    const before = this.epoch;
    this.epoch = {
      id: id!,
      createdAt: Number(createdAt),
      ...(dataLostAt ? { dataLostAt: Number(dataLostAt) } : {}),
      ...(previous ? { previous } : {}),
    };
    const lostAt = this.epoch.dataLostAt;
    if (lostAt !== undefined && lostAt !== before?.dataLostAt && Date.now() - lostAt < this.cfg.dataLostHold * 1000) {
      this.logger.error(logEvent('Redis data loss detected', { epoch: id, previous_epoch: previous ?? 'unknown', data_lost_at: new Date(lostAt).toISOString() }));
    }
  }

  private async checkSettings(): Promise<void> {
    const [persistence, memory] = await Promise.all([this.info('persistence'), this.info('memory')]);
    const next = assessRedisSettings(persistence, memory);
    const [was, now] = [this.settings && describeSettings(this.settings), describeSettings(next)];
    this.settings = next;
    if (was === now) return; // one line per change, not one per check
    if (!settingsVerified(next)) this.logger.warn(logEvent('Redis durability at risk', { detail: now }));
    else this.logger.log('Redis durability verified aof_enabled=1 maxmemory_policy=noeviction');
  }

  /** A refusal (NOPERM, a disabled command) is an answer: "unverified". No answer at all is thrown. */
  private async info(section: 'persistence' | 'memory'): Promise<InfoReply> {
    try {
      return { text: await this.redis.info(section) };
    } catch (err) {
      if (err instanceof ReplyError) return { refused: (err as Error).message };
      throw err;
    }
  }
}
