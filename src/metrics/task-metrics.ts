import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { TaskEventBase, TaskEventMap, TaskEvents } from '../tasks/task-events';
import { METRIC, QUEUE_WAIT_BUCKETS, RUNTIME_BUCKETS } from './metric-names';
import { TaskRegistry } from '../tasks/task-registry';
import { MemoryLimitExceeded, NonRetryableTaskError, TimeLimitExceeded, WorkerLostError } from '../tasks/task.errors';

const TASK_LABELS = ['queue', 'task_name'];
const labels = (e: TaskEventBase) => ({ queue: e.queue, task_name: e.taskName });

/** The task counters and histograms; each process counts what it did, PromQL sums the pods. */
export const TASK_METRIC_PROVIDERS = [
  makeCounterProvider({ name: METRIC.taskSubmitted, help: 'Tasks submitted', labelNames: TASK_LABELS }),
  makeCounterProvider({ name: METRIC.taskStarted, help: 'Task runs started', labelNames: TASK_LABELS }),
  makeCounterProvider({ name: METRIC.taskSucceeded, help: 'Tasks completed successfully', labelNames: TASK_LABELS }),
  makeCounterProvider({ name: METRIC.taskFailed, help: 'Tasks failed for good (after retries)', labelNames: [...TASK_LABELS, 'exception'] }),
  makeCounterProvider({ name: METRIC.taskRetried, help: 'Retries scheduled', labelNames: TASK_LABELS }),
  makeCounterProvider({ name: METRIC.taskRevoked, help: 'Tasks cancelled', labelNames: TASK_LABELS }),
  makeCounterProvider({ name: METRIC.taskRequeued, help: 'Failed or cancelled tasks re-queued by an operator (POST /tasks/{id}/retry)', labelNames: [...TASK_LABELS, 'from'] }),
  makeCounterProvider({ name: METRIC.timeLimitExceeded, help: 'Runs that reached a time limit', labelNames: [...TASK_LABELS, 'kind'] }),
  makeHistogramProvider({ name: METRIC.taskRuntime, help: 'Run time of finished runs, seconds', labelNames: TASK_LABELS, buckets: RUNTIME_BUCKETS }),
  makeHistogramProvider({
    name: METRIC.taskQueueWait,
    help: 'Time from when a task became runnable until its run started, seconds',
    labelNames: TASK_LABELS,
    buckets: QUEUE_WAIT_BUCKETS,
  }),
];

/** Failure types every task can end with; a handler's own error types appear when first seen. */
const KNOWN_EXCEPTIONS = [Error.name, TimeLimitExceeded.name, MemoryLimitExceeded.name, WorkerLostError.name, NonRetryableTaskError.name];

@Injectable()
export class TaskMetrics implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly events: TaskEvents,
    private readonly registry: TaskRegistry,
    @InjectMetric(METRIC.taskSubmitted) private readonly submitted: Counter,
    @InjectMetric(METRIC.taskStarted) private readonly started: Counter,
    @InjectMetric(METRIC.taskSucceeded) private readonly succeeded: Counter,
    @InjectMetric(METRIC.taskFailed) private readonly failed: Counter,
    @InjectMetric(METRIC.taskRetried) private readonly retried: Counter,
    @InjectMetric(METRIC.taskRevoked) private readonly revoked: Counter,
    @InjectMetric(METRIC.taskRequeued) private readonly requeued: Counter,
    @InjectMetric(METRIC.timeLimitExceeded) private readonly timeLimit: Counter,
    @InjectMetric(METRIC.taskRuntime) private readonly runtime: Histogram,
    @InjectMetric(METRIC.taskQueueWait) private readonly queueWait: Histogram,
  ) {}

  private readonly listeners: { [K in keyof TaskEventMap]: (...args: TaskEventMap[K]) => void } = {
    submitted: (e) => this.submitted.inc(labels(e)),
    started: (e) => {
      this.started.inc(labels(e));
      if (e.queueWaitSeconds !== null) this.queueWait.observe(labels(e), e.queueWaitSeconds);
    },
    succeeded: (e) => {
      this.succeeded.inc(labels(e));
      this.runtime.observe(labels(e), e.runtimeSeconds);
    },
    failed: (e) => {
      this.failed.inc({ ...labels(e), exception: e.exception });
      if (e.runtimeSeconds !== null) this.runtime.observe(labels(e), e.runtimeSeconds);
    },
    retried: (e) => {
      this.retried.inc(labels(e));
      if (e.runtimeSeconds !== null) this.runtime.observe(labels(e), e.runtimeSeconds);
    },
    revoked: (e) => this.revoked.inc(labels(e)),
    requeued: (e) => this.requeued.inc({ ...labels(e), from: e.from }),
    timeLimit: (e) => this.timeLimit.inc({ ...labels(e), kind: e.kind }),
  };

  onModuleInit(): void {
    // Series exist from the start at 0, so rate()/increase() see the first task of each kind.
    for (const type of this.registry.all()) {
      const l = { queue: type.policy.queue, task_name: type.name };
      for (const c of [this.submitted, this.started, this.succeeded, this.retried, this.revoked]) c.inc(l, 0);
      for (const exception of KNOWN_EXCEPTIONS) this.failed.inc({ ...l, exception }, 0);
      for (const from of ['failed', 'cancelled']) this.requeued.inc({ ...l, from }, 0);
    }
    for (const [event, fn] of Object.entries(this.listeners)) this.events.on(event as keyof TaskEventMap, fn as never);
  }

  onModuleDestroy(): void {
    for (const [event, fn] of Object.entries(this.listeners)) this.events.off(event as keyof TaskEventMap, fn as never);
  }
}
