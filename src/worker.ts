import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { runEntryPoint } from './app/entry-point';
import { closeOnSignals } from './app/signals';
import { requireApiKeys } from './config/configuration';
import { envFileAllowed, readConfig } from './config/environment';
import { QueueConsumer } from './processor/queue-consumer';
import { createWorkerApp } from './worker/worker.bootstrap';
import { logEvent } from './common/log-event';

/** Worker deployment: node dist/worker.js */
runEntryPoint(async () => {
  const config = await readConfig({ envFile: envFileAllowed() });
  requireApiKeys(config);
  // Signals are handled before the app starts consuming: a SIGTERM that arrives while it boots
  // must drain what it has taken, not kill it with a job in hand.
  const apps: INestApplication[] = [];
  closeOnSignals(apps, { onRepeat: () => apps[0]?.get(QueueConsumer).hurry(), deadlineMs: (config.task.timeLimit + 15) * 1000 });
  const app = await createWorkerApp(config);
  apps.push(app);
  await app.listen({ port: config.worker.port, host: '0.0.0.0' });
  new Logger('Bootstrap').log(logEvent('Worker listening', { port: config.worker.port, queues: config.worker.queues.join(',') }));
});
