import { INestApplication, Type, UnprocessableEntityException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/configuration';
import { HttpExceptionFilter } from '../common/http-exception.filter';
import { formatValidationErrors } from '../tasks/validation.util';
import { logLevels } from './logging';

/** Builds the app; entry points close it on signals themselves (see closeOnSignals). */
export async function createHttpApp(module: unknown, config: AppConfig, bodyLimitBytes: number): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    module as Type,
    // Long ids must reach the controller (and get a 404), not Fastify's 414.
    new FastifyAdapter({ bodyLimit: bodyLimitBytes, logger: false, routerOptions: { maxParamLength: 1024 } }),
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
  return app;
}

/** Fastify is ready only after its plugins load; tests and listeners both need that. */
export async function initHttpApp(app: INestApplication): Promise<void> {
  await app.init();
  await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
}
