import { DynamicModule, Module } from '@nestjs/common';
import { DurabilityModule } from '../durability/durability.module';
import { ProcessorModule } from '../processor/processor.module';
import { TasksModule } from '../tasks/tasks.module';
import { OperatorModule } from '../tasks/operator/operator.module';
import { ALERT_METRIC_PROVIDERS, AlertEvaluator } from './alert-evaluator.service';
import { MetricsController } from './metrics.controller';
import { prometheusModule } from './prometheus';
import { QueueStats } from './queue-stats.service';
import { TASK_METRIC_PROVIDERS, TaskMetrics } from './task-metrics';
import { TaskStats } from './task-stats.service';
import { WORKER_METRIC_PROVIDERS, WorkerMetrics } from './worker-metrics';

/** Metrics and alerting: JSON endpoints and alert evaluation on the API, /metrics on both roles. */
@Module({})
export class MetricsModule {
  /** An API process: the JSON endpoints, alert evaluation, queue gauges and /metrics. */
  static forApi(): DynamicModule {
    return {
      module: MetricsModule,
      imports: [TasksModule, OperatorModule, DurabilityModule, prometheusModule()],
      controllers: [MetricsController],
      providers: [...TASK_METRIC_PROVIDERS, ...ALERT_METRIC_PROVIDERS, TaskMetrics, QueueStats, TaskStats, AlertEvaluator],
    };
  }

  /** A worker process: task counters from its own runs, and its pool's gauges, on /metrics. */
  static forWorker(): DynamicModule {
    return {
      module: MetricsModule,
      imports: [TasksModule, ProcessorModule, prometheusModule()],
      providers: [...TASK_METRIC_PROVIDERS, ...WORKER_METRIC_PROVIDERS, TaskMetrics, WorkerMetrics],
    };
  }
}
