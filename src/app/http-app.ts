import { INestApplication, Type, UnprocessableEntityException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/configuration';
import { HttpExceptionFilter } from '../common/http-exception.filter';
import { formatValidationErrors } from '../tasks/validation.util';
import { logLevels } from './logging';

/** Builds a Fastify-based Nest app with the shared error shape, validation and shutdown hooks. */
export interface HttpAppOptions {
  bodyLimitBytes: number;
  /** Off when several apps share a process (npm start): that process closes them itself. */
  shutdownHooks?: boolean;
}

export async function createHttpApp(module: unknown, config: AppConfig, options: HttpAppOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    module as Type,
    // Long ids must reach the controller (and get a 404), not Fastify's 414.
    new FastifyAdapter({ bodyLimit: options.bodyLimitBytes, logger: false, maxParamLength: 1024 }),
    { logger: logLevels(config.logLevel), abortOnError: false },
  );
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      errorHttpStatusCode: 422,
      exceptionFactory: (errors) => new UnprocessableEntityException(`Validation failed: ${formatValidationErrors(errors).join('; ')}`),
    }),
  );
  if (options.shutdownHooks !== false) app.enableShutdownHooks();
  return app;
}

/** Fastify is ready only after its plugins load; tests and listeners both need that. */
export async function initHttpApp(app: INestApplication): Promise<void> {
  await app.init();
  await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
}
