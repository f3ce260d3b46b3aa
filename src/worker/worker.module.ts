import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '../config/config.module';
import { AppConfig } from '../config/configuration';
import { HealthModule } from '../health/health.module';
import { RedisModule } from '../redis/redis.module';
import { TasksModule } from '../tasks/tasks.module';

/** Root of a worker process (node dist/worker.js): no API controllers, only probes and metrics. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), RedisModule, TasksModule, HealthModule.forRoot()],
    };
  }
}
