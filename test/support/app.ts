import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../src/api/api.bootstrap';
import { AppConfig, loadConfig } from '../../src/config/configuration';
import { createWorkerApp } from '../../src/worker/worker.bootstrap';
import { TestRedis } from './redis';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

/** Config for a test: its own Redis and prefix, short limits, diagnostics on. */
export function testConfig(redis: TestRedis, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    API_KEYS: `${TEST_API_KEY},second-key-abcdefghijkl`,
    ENABLE_DIAGNOSTIC_TASKS: 'true',
    LOG_LEVEL: 'error',
    ...env,
  });
}

export async function startApi(config: AppConfig): Promise<NestFastifyApplication> {
  return createApiApp(config);
}

export async function startWorker(config: AppConfig): Promise<NestFastifyApplication> {
  return createWorkerApp(config);
}
