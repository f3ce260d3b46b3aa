import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createApiApp } from './api/api.bootstrap';
import { resolveDevRedis } from './app/dev-redis';
import { runEntryPoint } from './app/entry-point';
import { closeOnSignals } from './app/signals';
import { readConfig, readEnvironment } from './config/environment';
import { QueueConsumer } from './processor/queue-consumer';
import { createWorkerApp } from './worker/worker.bootstrap';

/**
 * All-in-one for a laptop (`npm start`): the API and a worker in one process, on a Redis that is
 * configured, local, or embedded, and with a generated API key when none is set.
 */
runEntryPoint(async () => {
  const logger = new Logger('Dev');
  // `.env` first: it may name the Redis to use.
  const env = await readEnvironment(true);

  // At the checkout's root (this file runs as dist/dev.js), git-ignored: tasks survive a laptop restart.
  const dataDir = resolve(__dirname, '..', '.sluice', 'redis');
  const redis = await resolveDevRedis(env, undefined, undefined, dataDir);
  env.REDIS_URL = redis.url;
  if (redis.embedded) {
    logger.log(`Started embedded redis-server url=${redis.url} data_dir=${dataDir}`);
    // The embedded server must not outlive us, however we exit.
    process.on('exit', () => redis.embedded?.process.kill('SIGKILL'));
  } else {
    logger.log(`Using Redis source=${redis.source}`);
  }
  if (!env.API_KEYS) {
    env.API_KEYS = randomBytes(24).toString('base64url');
    process.stdout.write(`\nAPI_KEYS was not set; generated an API key for this run:\n\n  X-API-Key: ${env.API_KEYS}\n\n`);
  }

  const config = await readConfig({ envFile: true, overrides: (raw) => ({ ...raw, REDIS_URL: env.REDIS_URL, API_KEYS: env.API_KEYS }) });
  const api = await createApiApp(config);
  const worker = await createWorkerApp(config);
  await api.listen({ port: config.server.port, host: '127.0.0.1' });
  await worker.listen({ port: config.worker.port, host: '127.0.0.1' });
  logger.log(
    `Sluice is up api=http://127.0.0.1:${config.server.port} docs=http://127.0.0.1:${config.server.port}/docs worker=http://127.0.0.1:${config.worker.port}`,
  );

  closeOnSignals([api, worker], {
    after: async () => redis.embedded?.stop(),
    onRepeat: () => worker.get(QueueConsumer).hurry(),
    deadlineMs: (config.task.timeLimit + 15) * 1000,
  });
});
