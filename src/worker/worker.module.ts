import { DynamicModule, Module } from '@nestjs/common';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { ConfigModule } from '../config/config.module';
import { AppConfig } from '../config/configuration';
import { DurabilityModule } from '../durability/durability.module';
import { EdgeModule } from '../edge/edge.module';
import { HealthModule } from '../health/health.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ChildPoolHealthIndicator } from '../processor/pool-health';
import { ProcessorModule } from '../processor/processor.module';
import { RedisModule } from '../redis/redis.module';

/** Root of a worker process (node dist/worker.js): no API controllers, only probes and metrics. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        EdgeModule.forWorker(),
        ProcessorModule,
        MetricsModule.forWorker(),
        // Logs Redis durability problems, and records a data loss this worker notices first.
        DurabilityModule,
        CallbacksModule,
        HealthModule.forRoot({ imports: [ProcessorModule], checks: [ChildPoolHealthIndicator] }),
      ],
    };
  }
}
