import { DynamicModule, InjectionToken, Module, ModuleMetadata } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController, READINESS_CHECKS } from './health.controller';
import { ReadinessCheck, RedisHealthIndicator } from './redis.health';

export interface HealthModuleOptions {
  imports?: ModuleMetadata['imports'];
  /** Further readiness checks, provided by the imported modules (the worker adds its child pool). */
  checks?: InjectionToken<ReadinessCheck>[];
}

@Module({})
export class HealthModule {
  static forRoot(options: HealthModuleOptions = {}): DynamicModule {
    const extra = options.checks ?? [];
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [
        RedisHealthIndicator,
        {
          provide: READINESS_CHECKS,
          inject: [RedisHealthIndicator, ...extra],
          useFactory: (...checks: ReadinessCheck[]) => checks,
        },
      ],
    };
  }
}
