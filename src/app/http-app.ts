import { INestApplication, Type, UnprocessableEntityException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/configuration';
import { HttpExceptionFilter } from '../common/http-exception.filter';
import { formatValidationErrors } from '../tasks/validation.util';
import { logLevels } from './logging';

/** Builds a Fastify-based Nest app with the shared error shape, validation and shutdown hooks. */
export async function createHttpApp(module: unknown, config: AppConfig, bodyLimitBytes: number): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    module as Type,
    new FastifyAdapter({ bodyLimit: bodyLimitBytes, logger: false }),
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
  app.enableShutdownHooks();
  return app;
}

/** Fastify is ready only after its plugins load; tests and listeners both need that. */
export async function initHttpApp(app: INestApplication): Promise<void> {
  await app.init();
  await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
}
