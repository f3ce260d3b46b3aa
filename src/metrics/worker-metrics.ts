import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { WORKER_CONFIG } from '../config/config.module';
import { WorkerConfig } from '../config/configuration';
import { ChildPool } from '../processor/pool/child-pool';
import { QueueConsumer } from '../processor/queue-consumer';
import { METRIC } from './metric-names';

export const WORKER_METRIC_PROVIDERS = [
  makeCounterProvider({ name: METRIC.childRecycled, help: 'Child processes replaced, by reason', labelNames: ['reason'] }),
  makeGaugeProvider({ name: METRIC.childMemory, help: 'RSS of the child process in each pool slot, bytes', labelNames: ['slot'] }),
  makeGaugeProvider({ name: METRIC.childBusy, help: '1 while the child in the slot runs a task', labelNames: ['slot'] }),
  makeGaugeProvider({ name: METRIC.childMemoryLimit, help: 'WORKER_MAX_MEMORY_PER_CHILD in bytes; 0 means no limit' }),
  makeGaugeProvider({ name: METRIC.workerUp, help: '1 while this worker consumes its queues' }),
];

/** How often the pool gauges are refreshed; cheap, and fresh enough for a 15 s scrape. */
const SAMPLE_MS = 1000;

/** Pool gauges, labelled by slot rather than pid so their number stays fixed. */
@Injectable()
export class WorkerMetrics implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private readonly onRecycled = (e: { reason: string }) => this.recycled.inc({ reason: e.reason });

  constructor(
    private readonly pool: ChildPool,
    private readonly consumer: QueueConsumer,
    @Inject(WORKER_CONFIG) private readonly worker: WorkerConfig,
    @InjectMetric(METRIC.childRecycled) private readonly recycled: Counter,
    @InjectMetric(METRIC.childMemory) private readonly memory: Gauge,
    @InjectMetric(METRIC.childBusy) private readonly busy: Gauge,
    @InjectMetric(METRIC.childMemoryLimit) private readonly limit: Gauge,
    @InjectMetric(METRIC.workerUp) private readonly up: Gauge,
  ) {}

  onModuleInit(): void {
    this.limit.set(this.worker.maxMemoryPerChildKiB * 1024);
    this.pool.on('recycled', this.onRecycled);
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.pool.off('recycled', this.onRecycled);
    this.up.set(0);
  }

  private sample(): void {
    this.up.set(this.consumer.up ? 1 : 0);
    for (const s of this.pool.slots()) {
      this.memory.set({ slot: String(s.slot) }, s.rssBytes);
      this.busy.set({ slot: String(s.slot) }, s.busy ? 1 : 0);
    }
  }
}
