import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AdminUiInstaller } from '../admin-ui/admin-ui.installer';
import { createHttpApp, initHttpApp } from '../app/http-app';
import { AppConfig } from '../config/configuration';
import { API_KEY_SCHEME } from '../common/api-key';
import { DOCS_JSON_PATH, DOCS_PATH } from '../edge/paths';
import { TaskRegistry } from '../tasks/task-registry';
import { describeTaskPayloads } from '../tasks-api/payload-docs';
import { ApiModule } from './api.module';

export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createHttpApp(ApiModule.forRoot(config), config);
  // API_DOCS_ACCESS=off: not registered at all, so /docs is a plain 404.
  if (config.server.docsAccess !== 'off') {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Sluice')
        .setDescription('Task queue with supervised child processes: submit, inspect, list and cancel tasks.')
        .setVersion('1')
        .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
        .build(),
    );
    describeTaskPayloads(document, app.get(TaskRegistry).all());
    SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: DOCS_JSON_PATH });
  }
  // ADMIN_UI=off: AdminUiModule is not imported and nothing is registered, so /admin/queues is a plain 404.
  if (config.server.adminUi) app.get(AdminUiInstaller).install(app.getHttpAdapter().getInstance());
  await initHttpApp(app);
  return app;
}
