import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp, initHttpApp } from '../app/http-app';
import { AppConfig } from '../config/configuration';
import { WorkerModule } from './worker.module';

/** Probes and /metrics need no request bodies. */
const WORKER_BODY_LIMIT = 1024;

export async function createWorkerApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createHttpApp(WorkerModule.forRoot(config), config, WORKER_BODY_LIMIT);
  await initHttpApp(app);
  return app;
}
