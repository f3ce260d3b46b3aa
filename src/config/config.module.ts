import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { AppConfig } from './configuration';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const TASK_POLICY_CONFIG = Symbol('TASK_POLICY_CONFIG');
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
export const ALERT_CONFIG = Symbol('ALERT_CONFIG');
export const REDIS_CONFIG = Symbol('REDIS_CONFIG');
export const SERVER_CONFIG = Symbol('SERVER_CONFIG');
export const CALLBACK_CONFIG = Symbol('CALLBACK_CONFIG');

/**
 * Provides the config validated by the entry point (see environment.ts), whole and as per-feature
 * slices, and also as @nestjs/config's ConfigService under the key `sluice`.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers = [
      { provide: APP_CONFIG, useValue: config },
      { provide: SERVER_CONFIG, useValue: config.server },
      { provide: REDIS_CONFIG, useValue: config.redis },
      { provide: TASK_POLICY_CONFIG, useValue: config.task },
      { provide: WORKER_CONFIG, useValue: config.worker },
      { provide: ALERT_CONFIG, useValue: config.alerts },
      { provide: CALLBACK_CONFIG, useValue: config.callbacks },
    ];
    return {
      module: ConfigModule,
      imports: [NestConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, ignoreEnvVars: true, load: [() => ({ sluice: config })] })],
      providers,
      exports: providers.map((p) => p.provide),
    };
  }
}
