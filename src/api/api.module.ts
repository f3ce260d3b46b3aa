import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ConfigModule } from '../config/config.module';
import { AppConfig } from '../config/configuration';
import { HealthModule } from '../health/health.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';
import { TasksApiModule } from '../tasks-api/tasks-api.module';

/** Root of an API process (node dist/main.js). */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        ScheduleModule.forRoot(),
        // Before TasksApiModule: /api/v1/tasks/metrics and /health are fixed paths beside /:task_id.
        MetricsModule.forApi(),
        TasksApiModule,
        HealthModule.forRoot(),
      ],
    };
  }
}
