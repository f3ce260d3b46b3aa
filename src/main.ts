import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApiApp } from './api/api.bootstrap';
import { runEntryPoint } from './app/entry-point';
import { closeOnSignals } from './app/signals';
import { requireApiKeys } from './config/configuration';
import { envFileAllowed, readConfig } from './config/environment';
import { logEvent } from './common/log-event';

/** API deployment: node dist/main.js */
runEntryPoint(async () => {
  const config = await readConfig({ envFile: envFileAllowed() });
  requireApiKeys(config);
  const app = await createApiApp(config);
  await app.listen({ port: config.server.port, host: '0.0.0.0' });
  closeOnSignals([app]);
  new Logger('Bootstrap').log(logEvent('API listening', { port: config.server.port }));
});
