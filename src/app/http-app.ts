import { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/configuration';
import { HttpExceptionFilter } from '../common/http-exception.filter';
import { DEFAULT_BODY_LIMIT, edgeAdapterOptions } from '../edge/adapter-options';
import { HttpEdge } from '../edge/http-edge';
import { appLogger } from './logging';
import { GlobalValidationPipe, VALIDATION_OPTIONS } from './validation-pipe';

/**
 * Builds the app; entry points close it on signals themselves (see closeOnSignals). The module must
 * import EdgeModule: its hooks are installed here, before any route is registered.
 */
export async function createHttpApp(module: unknown, config: AppConfig, bodyLimitBytes = DEFAULT_BODY_LIMIT): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    module as Type,
    new FastifyAdapter(edgeAdapterOptions(config.server, bodyLimitBytes)),
    // No Nest body parsers: HttpEdge registers the only one (JSON), so other types get 415.
    { logger: appLogger(config), abortOnError: false, bodyParser: false },
  );
  await app.get(HttpEdge).install(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(new GlobalValidationPipe(VALIDATION_OPTIONS));
  return app;
}

/** Fastify is ready only after its plugins load; tests and listeners both need that. */
export async function initHttpApp(app: INestApplication): Promise<void> {
  await app.init();
  await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
}
