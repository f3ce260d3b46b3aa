import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ConfigError } from './config.errors';
import { ENV_VARIABLES, EnvironmentVariables, LogLevelName } from './env.schema';

export interface ServerConfig {
  port: number;
  apiKeys: string[];
  bodyLimitBytes: number;
}

export interface RedisConfig {
  /** Undefined only before the dev entry has resolved a Redis; entry points require it. */
  url: string;
  prefix: string;
}

/** Defaults for every task type's policy; seconds throughout. */
export interface TaskPolicyConfig {
  timeLimit: number;
  softTimeLimit: number;
  maxRetries: number;
  retryBackoff: number;
  retryBackoffMax: number;
  retryJitter: boolean;
  resultExpires: number;
}

export interface WorkerConfig {
  port: number;
  concurrency: number;
  prefetchMultiplier: number;
  /** 0 means no limit. */
  maxTasksPerChild: number;
  /** KiB, as in Celery; 0 means no limit. */
  maxMemoryPerChildKiB: number;
  queues: string[];
  cancelGrace: number;
  lockDuration: number;
  stalledInterval: number;
}

export interface AlertConfig {
  failureRateWarning: number;
  failureRateCritical: number;
  taskDurationWarning: number;
  taskDurationCritical: number;
  memoryWarningMb: number;
  memoryCriticalMb: number;
  window: number;
  minSamples: number;
  evalInterval: number;
  /** Seconds the data-lost alert holds after a wiped Redis is detected. */
  dataLostHold: number;
}

export interface AppConfig {
  server: ServerConfig;
  redis: RedisConfig;
  task: TaskPolicyConfig;
  /** task_name → queue, from TASK_QUEUE_OVERRIDES; the registry checks the names. */
  taskQueues: Record<string, string>;
  worker: WorkerConfig;
  alerts: AlertConfig;
  diagnostics: { enabled: boolean };
  logLevel: LogLevelName;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Validates the environment once, at start-up, into typed nested config. The first problem found
 * is thrown as a ConfigError naming the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const raw: Record<string, string> = {};
  for (const key of ENV_VARIABLES) {
    const value = env[key];
    if (value !== undefined) raw[key] = value;
  }
  const vars = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(vars, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const first = errors[0];
    const detail = Object.values(first.constraints ?? {})[0] ?? 'is invalid';
    throw new ConfigError(first.property, `${detail} (got ${JSON.stringify(raw[first.property])})`);
  }

  if (vars.TASK_SOFT_TIME_LIMIT >= vars.TASK_TIME_LIMIT) {
    throw new ConfigError('TASK_SOFT_TIME_LIMIT', `must be below TASK_TIME_LIMIT (${vars.TASK_TIME_LIMIT})`);
  }
  if (vars.TASK_RETRY_BACKOFF_MAX < vars.TASK_RETRY_BACKOFF) {
    throw new ConfigError('TASK_RETRY_BACKOFF_MAX', `must not be below TASK_RETRY_BACKOFF (${vars.TASK_RETRY_BACKOFF})`);
  }
  if (vars.ALERT_FAILURE_RATE_CRITICAL < vars.ALERT_FAILURE_RATE_WARNING) {
    throw new ConfigError('ALERT_FAILURE_RATE_CRITICAL', 'must not be below ALERT_FAILURE_RATE_WARNING');
  }
  if (vars.ALERT_TASK_DURATION_CRITICAL < vars.ALERT_TASK_DURATION_WARNING) {
    throw new ConfigError('ALERT_TASK_DURATION_CRITICAL', 'must not be below ALERT_TASK_DURATION_WARNING');
  }
  if (vars.ALERT_MEMORY_CRITICAL_MB < vars.ALERT_MEMORY_WARNING_MB) {
    throw new ConfigError('ALERT_MEMORY_CRITICAL_MB', 'must not be below ALERT_MEMORY_WARNING_MB');
  }
  if (vars.WORKER_PORT === vars.PORT) {
    throw new ConfigError('WORKER_PORT', `must differ from PORT (${vars.PORT})`);
  }

  const apiKeys = (vars.API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (vars.API_KEYS !== undefined && apiKeys.length === 0) {
    throw new ConfigError('API_KEYS', 'must hold at least one non-empty key when set');
  }

  const queues = [...new Set(vars.WORKER_QUEUES.split(',').map((q) => q.trim()))];
  const taskQueues: Record<string, string> = {};
  for (const pair of vars.TASK_QUEUE_OVERRIDES.split(',').filter((x) => x.trim() !== '')) {
    const [name, queue] = pair.split(':').map((x) => x.trim());
    if (name in taskQueues) throw new ConfigError('TASK_QUEUE_OVERRIDES', `names ${name} twice`);
    taskQueues[name] = queue;
  }

  return {
    server: {
      port: vars.PORT,
      apiKeys,
      bodyLimitBytes: Math.floor(vars.API_BODY_LIMIT_MB * 1024 * 1024),
    },
    redis: { url: vars.REDIS_URL ?? DEFAULT_REDIS_URL, prefix: vars.QUEUE_PREFIX },
    task: {
      timeLimit: vars.TASK_TIME_LIMIT,
      softTimeLimit: vars.TASK_SOFT_TIME_LIMIT,
      maxRetries: vars.TASK_MAX_RETRIES,
      retryBackoff: vars.TASK_RETRY_BACKOFF,
      retryBackoffMax: vars.TASK_RETRY_BACKOFF_MAX,
      retryJitter: vars.TASK_RETRY_JITTER,
      resultExpires: vars.TASK_RESULT_EXPIRES,
    },
    taskQueues,
    worker: {
      port: vars.WORKER_PORT,
      concurrency: vars.WORKER_CONCURRENCY,
      prefetchMultiplier: vars.WORKER_PREFETCH_MULTIPLIER,
      maxTasksPerChild: vars.WORKER_MAX_TASKS_PER_CHILD,
      maxMemoryPerChildKiB: vars.WORKER_MAX_MEMORY_PER_CHILD,
      queues,
      cancelGrace: vars.WORKER_CANCEL_GRACE,
      lockDuration: vars.WORKER_LOCK_DURATION,
      stalledInterval: vars.WORKER_STALLED_INTERVAL,
    },
    alerts: {
      failureRateWarning: vars.ALERT_FAILURE_RATE_WARNING,
      failureRateCritical: vars.ALERT_FAILURE_RATE_CRITICAL,
      taskDurationWarning: vars.ALERT_TASK_DURATION_WARNING,
      taskDurationCritical: vars.ALERT_TASK_DURATION_CRITICAL,
      memoryWarningMb: vars.ALERT_MEMORY_WARNING_MB,
      memoryCriticalMb: vars.ALERT_MEMORY_CRITICAL_MB,
      window: vars.ALERT_WINDOW,
      minSamples: vars.ALERT_MIN_SAMPLES,
      evalInterval: vars.ALERT_EVAL_INTERVAL,
      dataLostHold: vars.ALERT_DATA_LOST_HOLD,
    },
    diagnostics: { enabled: vars.ENABLE_DIAGNOSTIC_TASKS },
    logLevel: vars.LOG_LEVEL,
  };
}

/** The API and the worker both refuse to run unauthenticated in production. */
export function requireApiKeys(config: AppConfig): void {
  if (config.server.apiKeys.length === 0) {
    throw new ConfigError('API_KEYS', 'must be set (comma-separated keys); `npm start` generates one for local use');
  }
}
