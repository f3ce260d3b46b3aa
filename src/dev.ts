import 'reflect-metadata';
import { join, relative, resolve } from 'node:path';
import { createApiApp } from './api/api.bootstrap';
import { devBanner } from './app/dev-banner';
import { devApiKey } from './app/dev-key';
import { resolveDevRedis } from './app/dev-redis';
import { runEntryPoint } from './app/entry-point';
import { appLogger } from './app/logging';
import { closeOnSignals } from './app/signals';
import { readConfig, readEnvironment } from './config/environment';
import { QueueConsumer } from './processor/queue-consumer';
import { createWorkerApp } from './worker/worker.bootstrap';

/**
 * All-in-one for a laptop (`npm start`): the API and a worker in one process, on a Redis that is
 * configured, local, or embedded, and with a kept generated API key when none is set. It logs in
 * the `pretty` format unless LOG_FORMAT says otherwise, and ends its start-up with a banner.
 */
runEntryPoint(async () => {
  // `.env` first: it may name the Redis to use.
  const env = await readEnvironment(true);

  // At the checkout's root (this file runs as dist/dev.js), git-ignored: tasks and the generated
  // key survive a restart of npm start or of the laptop. SLUICE_STATE_DIR moves it (tests do).
  const stateDir = env.SLUICE_STATE_DIR ? resolve(env.SLUICE_STATE_DIR) : resolve(__dirname, '..', '.sluice');
  const dataDir = join(stateDir, 'redis');
  const redis = await resolveDevRedis(env, undefined, undefined, dataDir);
  // The embedded server must not outlive us, however we exit.
  if (redis.embedded) process.on('exit', () => redis.embedded?.process.kill('SIGKILL'));
  const keyFile = join(stateDir, 'api-key');
  const devKey = env.API_KEYS ? undefined : devApiKey(keyFile);

  const config = await readConfig({
    envFile: true,
    overrides: (raw) => ({ LOG_FORMAT: 'pretty', ...raw, REDIS_URL: redis.url, API_KEYS: raw.API_KEYS || devKey?.entry }),
  });
  appLogger(config);
  const api = await createApiApp(config);
  const worker = await createWorkerApp(config);
  await api.listen({ port: config.server.port, host: '127.0.0.1' });
  await worker.listen({ port: config.worker.port, host: '127.0.0.1' });
  closeOnSignals([api, worker], {
    after: async () => redis.embedded?.stop(),
    onRepeat: () => worker.get(QueueConsumer).hurry(),
    deadlineMs: (config.task.timeLimit + 15) * 1000,
  });

  const shown = (path: string) => relative(process.cwd(), path) || '.';
  process.stdout.write(
    devBanner({
      apiPort: config.server.port,
      workerPort: config.worker.port,
      adminUi: config.server.adminUi,
      docs: config.server.docsAccess !== 'off',
      redis,
      redisPrefix: config.redis.prefix,
      redisDataDir: shown(dataDir),
      devKey: devKey && { key: devKey.key, file: shown(keyFile), generated: devKey.generated },
    }),
  );
});
