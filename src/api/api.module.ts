import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AdminUiModule } from '../admin-ui/admin-ui.module';
import { ConfigModule } from '../config/config.module';
import { EdgeModule } from '../edge/edge.module';
import { AppConfig } from '../config/configuration';
import { HealthModule } from '../health/health.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';
import { TasksApiModule } from '../tasks-api/tasks-api.module';
import { SUBMIT_ROUTES } from '../tasks-api/routes';

/** Root of an API process (node dist/main.js). */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        EdgeModule.forApi(SUBMIT_ROUTES),
        ScheduleModule.forRoot(),
        // Before TasksApiModule: /api/v1/tasks/metrics and /health are fixed paths beside /:task_id.
        MetricsModule.forApi(),
        TasksApiModule,
        HealthModule.forRoot(),
        // ADMIN_UI=off: not imported, so nothing of Bull Board is even built.
        ...(config.server.adminUi ? [AdminUiModule] : []),
      ],
    };
  }
}
