import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AdminUiInstaller } from '../admin-ui/admin-ui.installer';
import { createHttpApp, initHttpApp } from '../app/http-app';
import { AppConfig } from '../config/configuration';
import { API_KEY_SCHEME } from '../common/api-key';
import { DOCS_JSON_PATH, DOCS_PATH } from '../edge/paths';
import { TaskRegistry } from '../tasks/task-registry';
import { describeTaskTypes } from '../tasks-api/task-type-docs';
import { BASIC_AUTH_SCHEME } from '../tasks-api/task-events.controller';
import { ApiModule } from './api.module';
import { apiOperationId, describeFrontDoor } from './openapi';

export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createHttpApp(ApiModule.forRoot(config), config);
  // API_DOCS_ACCESS=off: not registered at all, so /docs is a plain 404.
  if (config.server.docsAccess !== 'off') {
    SwaggerModule.setup(DOCS_PATH, app, createApiDocument(app, config), { jsonDocumentUrl: DOCS_JSON_PATH });
  }
  // ADMIN_UI=off: AdminUiModule is not imported and nothing is registered, so /admin/queues is a plain 404.
  if (config.server.adminUi) app.get(AdminUiInstaller).install(app.getHttpAdapter().getInstance());
  await initHttpApp(app);
  return app;
}

/**
 * The OpenAPI document of an app from createHttpApp, initialised or not (npm run lint:openapi builds
 * it without Redis): the routes' own decorators, then each task type's schemas and the front door's.
 */
export function createApiDocument(app: NestFastifyApplication, config: AppConfig): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Sluice')
      .setDescription('Task queue with supervised child processes: submit, inspect, list and cancel tasks.')
      .setVersion('1')
      .setLicense('UNLICENSED', 'https://docs.npmjs.com/cli/configuring-npm/package-json#license')
      .addServer('/', 'The server this document is served from')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
      .addBasicAuth({ type: 'http', scheme: 'basic', description: 'Any user name, an API key as the password (the job UI and task event streams only)' }, BASIC_AUTH_SCHEME)
      .build(),
    { operationIdFactory: apiOperationId },
  );
  describeTaskTypes(document, app.get(TaskRegistry).all());
  describeFrontDoor(document, config.server);
  return document;
}
