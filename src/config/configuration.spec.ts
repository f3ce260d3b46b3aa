import { ConfigError } from './config.errors';
import { loadConfig, requireApiKeys } from './configuration';

const load = (env: Record<string, string>) => loadConfig(env);

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = load({});
    expect(c.server).toEqual({ port: 3000, apiKeys: [], bodyLimitBytes: 16 * 1024 * 1024 });
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'sluice' });
    expect(c.task).toEqual({
      timeLimit: 600,
      softTimeLimit: 540,
      maxRetries: 3,
      retryBackoff: 60,
      retryBackoffMax: 600,
      retryJitter: true,
      resultExpires: 86400,
    });
    expect(c.worker).toEqual({
      port: 3001,
      concurrency: 4,
      prefetchMultiplier: 1,
      maxTasksPerChild: 10,
      maxMemoryPerChildKiB: 2048000,
      queues: ['cpu_intensive'],
      cancelGrace: 5,
      lockDuration: 30,
      stalledInterval: 30,
    });
    expect(c.alerts).toEqual({
      failureRateWarning: 10,
      failureRateCritical: 20,
      taskDurationWarning: 480,
      taskDurationCritical: 570,
      memoryWarningMb: 1536,
      memoryCriticalMb: 1946,
      window: 3600,
      minSamples: 10,
      evalInterval: 5,
      dataLostHold: 3600,
    });
    expect(c.diagnostics.enabled).toBe(false);
    expect(c.logLevel).toBe('info');
  });

  it('accepts fractional seconds and 0 for the per-child limits', () => {
    const c = load({ TASK_TIME_LIMIT: '1.5', TASK_SOFT_TIME_LIMIT: '0.5', WORKER_MAX_TASKS_PER_CHILD: '0', WORKER_MAX_MEMORY_PER_CHILD: '0', WORKER_CANCEL_GRACE: '0.25' });
    expect(c.task.timeLimit).toBe(1.5);
    expect(c.task.softTimeLimit).toBe(0.5);
    expect(c.worker.maxTasksPerChild).toBe(0);
    expect(c.worker.maxMemoryPerChildKiB).toBe(0);
    expect(c.worker.cancelGrace).toBe(0.25);
  });

  it('parses lists and booleans', () => {
    const c = load({ API_KEYS: ' a , b,,', WORKER_QUEUES: 'cpu_intensive, cpu_intensive', TASK_RETRY_JITTER: 'false', ENABLE_DIAGNOSTIC_TASKS: 'true', QUEUE_PREFIX: 'sluice.prod-1' });
    expect(c.server.apiKeys).toEqual(['a', 'b']);
    expect(c.worker.queues).toEqual(['cpu_intensive']);
    expect(c.task.retryJitter).toBe(false);
    expect(c.diagnostics.enabled).toBe(true);
    expect(c.redis.prefix).toBe('sluice.prod-1');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', ''],
    ['REDIS_URL', 'localhost:6379'],
    ['QUEUE_PREFIX', 'has space'],
    ['QUEUE_PREFIX', '{sluice}'],
    ['API_BODY_LIMIT_MB', '-1'],
    ['TASK_TIME_LIMIT', 'ten'],
    ['TASK_MAX_RETRIES', '1.5'],
    ['TASK_RETRY_JITTER', 'maybe'],
    ['WORKER_CONCURRENCY', '0'],
    ['WORKER_MAX_TASKS_PER_CHILD', '-1'],
    ['WORKER_QUEUES', 'a,,b'],
    ['WORKER_LOCK_DURATION', '0'],
    ['ALERT_FAILURE_RATE_WARNING', '101'],
    ['ALERT_EVAL_INTERVAL', 'NaN'],
    ['ALERT_DATA_LOST_HOLD', '0'],
    ['ALERT_DATA_LOST_HOLD', 'an hour'],
    ['ENABLE_DIAGNOSTIC_TASKS', 'yesplease'],
    ['LOG_LEVEL', 'loud'],
    ['API_KEYS', ' , '],
  ])('rejects %s=%j with an error naming the variable', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(ConfigError);
    expect(() => load({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} `));
  });

  it.each([
    [{ TASK_TIME_LIMIT: '10', TASK_SOFT_TIME_LIMIT: '10' }, 'TASK_SOFT_TIME_LIMIT'],
    [{ TASK_RETRY_BACKOFF: '100', TASK_RETRY_BACKOFF_MAX: '50' }, 'TASK_RETRY_BACKOFF_MAX'],
    [{ ALERT_FAILURE_RATE_WARNING: '30' }, 'ALERT_FAILURE_RATE_CRITICAL'],
    [{ ALERT_TASK_DURATION_WARNING: '600' }, 'ALERT_TASK_DURATION_CRITICAL'],
    [{ ALERT_MEMORY_WARNING_MB: '2000' }, 'ALERT_MEMORY_CRITICAL_MB'],
    [{ WORKER_PORT: '3000' }, 'WORKER_PORT'],
  ])('rejects inconsistent values %j naming %s', (env, name) => {
    expect(() => load(env)).toThrow(new RegExp(`^Invalid configuration: ${name} `));
  });

  it('refuses a QUEUE_PREFIX with braces, and says why', () => {
    expect(() => load({ QUEUE_PREFIX: '{sluice}' })).toThrow(/^Invalid configuration: QUEUE_PREFIX must not contain \{ or \}: each queue gets its own hash tag/);
    expect(() => load({ QUEUE_PREFIX: 'a b' })).toThrow(/^Invalid configuration: QUEUE_PREFIX must be 1-64 characters/);
  });

  it('reads ALERT_DATA_LOST_HOLD in seconds, fractions allowed', () => {
    expect(load({ ALERT_DATA_LOST_HOLD: '2.5' }).alerts.dataLostHold).toBe(2.5);
  });

  it('requires API keys for the production entry points', () => {
    expect(() => requireApiKeys(load({}))).toThrow(/API_KEYS/);
    expect(() => requireApiKeys(load({ API_KEYS: 'k' }))).not.toThrow();
  });
});
