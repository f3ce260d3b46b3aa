import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { METRIC } from '../metrics/metric-names';
import { AuthFailureReason } from './edge-metrics';
import { logEvent } from '../common/log-event';

const LOG_EVERY_MS = 60_000;
/** Sources remembered at most; past it, expired ones are dropped, and if none are, all are. */
const MAX_SOURCES = 10_000;

/**
 * Counts every authentication failure, and logs at most one line per source (client address) per
 * minute, with how many were left out, so a flood of bad keys cannot flood the log. The key is
 * never logged, not even in part.
 */
@Injectable()
export class AuthFailures {
  private readonly logger = new Logger(AuthFailures.name);
  private readonly sources = new Map<string, { until: number; suppressed: number }>();

  constructor(@InjectMetric(METRIC.httpAuthFailures) private readonly counter: Counter) {}

  record(source: string, reason: AuthFailureReason, method: string, path: string, now = Date.now()): void {
    this.counter.inc({ reason });
    const seen = this.sources.get(source);
    if (seen && now < seen.until) {
      seen.suppressed++;
      return;
    }
    this.remember(source, now);
    const shownPath = path.length > 200 ? `${path.slice(0, 200)}…` : path;
    this.logger.warn(logEvent('Authentication failed', { source: source, reason: reason, method: method, path: shownPath, suppressed: seen?.suppressed ?? 0 }));
  }

  private remember(source: string, now: number): void {
    if (this.sources.size >= MAX_SOURCES) {
      for (const [s, v] of this.sources) if (v.until <= now) this.sources.delete(s);
      if (this.sources.size >= MAX_SOURCES) this.sources.clear();
    }
    this.sources.set(source, { until: now + LOG_EVERY_MS, suppressed: 0 });
  }
}
