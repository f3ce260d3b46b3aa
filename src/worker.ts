import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { runEntryPoint } from './app/entry-point';
import { closeOnSignals } from './app/signals';
import { requireApiKeys } from './config/configuration';
import { envFileAllowed, readConfig } from './config/environment';
import { QueueConsumer } from './processor/queue-consumer';
import { createWorkerApp } from './worker/worker.bootstrap';

/** Worker deployment: node dist/worker.js */
runEntryPoint(async () => {
  const config = await readConfig({ envFile: envFileAllowed() });
  requireApiKeys(config);
  const app = await createWorkerApp(config);
  await app.listen({ port: config.worker.port, host: '0.0.0.0' });
  // The drain itself may take up to the hard time limit.
  closeOnSignals([app], { onRepeat: () => app.get(QueueConsumer).hurry(), deadlineMs: (config.task.timeLimit + 15) * 1000 });
  new Logger('Bootstrap').log(`Worker listening port=${config.worker.port} queues=${config.worker.queues.join(',')}`);
});
