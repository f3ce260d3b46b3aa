import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApiApp } from './api/api.bootstrap';
import { runEntryPoint } from './app/entry-point';
import { closeOnSignals } from './app/signals';
import { loadConfig, requireApiKeys } from './config/configuration';

/** API deployment: node dist/main.js */
runEntryPoint(async () => {
  const config = loadConfig(process.env);
  requireApiKeys(config);
  const app = await createApiApp(config);
  await app.listen({ port: config.server.port, host: '0.0.0.0' });
  closeOnSignals([app]);
  new Logger('Bootstrap').log(`API listening port=${config.server.port}`);
});
