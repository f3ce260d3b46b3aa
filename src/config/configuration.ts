import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ConfigError, ConfigProblem, shownValue } from './config.errors';
import { ENV_VARIABLES, EndpointAccess, EnvironmentVariables, LogFormat, LogLevelName } from './env.schema';
import { ApiKeyEntry, parseApiKeys } from './api-keys';
import { parseTrustProxy } from './trust-proxy';

export interface ServerConfig {
  port: number;
  /** Accepted keys, by label and SHA-256: API_KEYS and API_KEY_HASHES together. */
  apiKeys: ApiKeyEntry[];
  /** The two submit routes only; every other route takes at most 64 KiB. */
  bodyLimitBytes: number;
  /** Seconds a client may take to send its request; none of them bounds the answer. */
  timeouts: { request: number; headers: number; keepAlive: number };
  jsonMaxDepth: number;
  /** Fastify's trustProxy: whether, or for which proxies, X-Forwarded-For is believed. */
  trustProxy: boolean | string[];
  /** Requests per minute; 0 = no limit. */
  rateLimit: { perKey: number; unauthenticatedPerIp: number };
  docsAccess: EndpointAccess;
  metricsAccess: EndpointAccess;
  /** ADMIN_UI: whether Bull Board is mounted at /admin/queues. */
  adminUi: boolean;
  /** Seconds between keep-alive comments on a task event stream. */
  sseHeartbeat: number;
  /** API_ADMIN_LABELS: the key labels that may use the operator controls; null: every key may. */
  adminLabels: string[] | null;
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
  /** Each child's niceness (0..19), so the supervisor's timers preempt busy children; 0 = the worker's own. */
  childNiceness: number;
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
  /** Seconds a queue may stay paused before its queue_paused alert turns critical. */
  queuePausedAfter: number;
}

/** Completion webhooks (options.callback_url). */
export interface CallbackConfig {
  /** `host` (the scheme's default port) or `host:port`, lower-case; empty: callbacks are off. */
  allowedHosts: string[];
  /** Signs every delivery (X-Sluice-Signature); set whenever allowedHosts is. */
  secret: string | undefined;
  maxAttempts: number;
  /** Seconds. */
  timeout: number;
  backoff: number;
  backoffMax: number;
}

export interface AppConfig {
  server: ServerConfig;
  redis: RedisConfig;
  task: TaskPolicyConfig;
  /** task_name → queue, from TASK_QUEUE_OVERRIDES; the registry checks the names. */
  taskQueues: Record<string, string>;
  worker: WorkerConfig;
  alerts: AlertConfig;
  callbacks: CallbackConfig;
  diagnostics: { enabled: boolean };
  logLevel: LogLevelName;
  logFormat: LogFormat;
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
  // Every problem is reported at once, each naming its variable, so one boot shows them all.
  const problems: ConfigProblem[] = validateSync(vars, { skipMissingProperties: false, forbidUnknownValues: false }).map((e) => ({
    variable: e.property,
    detail: `${Object.values(e.constraints ?? {})[0] ?? 'is invalid'} (got ${shownValue(e.property, raw[e.property])})`,
  }));
  const invalid = new Set(problems.map((p) => p.variable));
  const check = (ok: boolean, variable: string, detail: string, ...uses: string[]): void => {
    // A rule between two variables is only checked when both are valid on their own.
    if (!ok && ![variable, ...uses].some((v) => invalid.has(v))) problems.push({ variable, detail });
  };

  check(vars.TASK_SOFT_TIME_LIMIT < vars.TASK_TIME_LIMIT, 'TASK_SOFT_TIME_LIMIT', `must be below TASK_TIME_LIMIT (${vars.TASK_TIME_LIMIT})`, 'TASK_TIME_LIMIT');
  check(vars.TASK_RETRY_BACKOFF_MAX >= vars.TASK_RETRY_BACKOFF, 'TASK_RETRY_BACKOFF_MAX', `must not be below TASK_RETRY_BACKOFF (${vars.TASK_RETRY_BACKOFF})`, 'TASK_RETRY_BACKOFF');
  check(vars.ALERT_FAILURE_RATE_CRITICAL >= vars.ALERT_FAILURE_RATE_WARNING, 'ALERT_FAILURE_RATE_CRITICAL', 'must not be below ALERT_FAILURE_RATE_WARNING', 'ALERT_FAILURE_RATE_WARNING');
  check(vars.ALERT_TASK_DURATION_CRITICAL >= vars.ALERT_TASK_DURATION_WARNING, 'ALERT_TASK_DURATION_CRITICAL', 'must not be below ALERT_TASK_DURATION_WARNING', 'ALERT_TASK_DURATION_WARNING');
  check(vars.ALERT_MEMORY_CRITICAL_MB >= vars.ALERT_MEMORY_WARNING_MB, 'ALERT_MEMORY_CRITICAL_MB', 'must not be below ALERT_MEMORY_WARNING_MB', 'ALERT_MEMORY_WARNING_MB');
  check(vars.WORKER_PORT !== vars.PORT, 'WORKER_PORT', `must differ from PORT (${vars.PORT})`, 'PORT');
  // Node refuses a headers timeout above the request timeout, which includes the headers.
  check(vars.API_HEADERS_TIMEOUT <= vars.API_REQUEST_TIMEOUT, 'API_HEADERS_TIMEOUT', `must not be above API_REQUEST_TIMEOUT (${vars.API_REQUEST_TIMEOUT})`, 'API_REQUEST_TIMEOUT');
  const trustProxy = parseTrustProxy(vars.API_TRUST_PROXY, problems);

  const apiKeys = parseApiKeys(vars.API_KEYS, vars.API_KEY_HASHES, problems);
  const adminLabels = [...new Set(vars.API_ADMIN_LABELS.split(',').map((l) => l.trim()).filter((l) => l !== ''))];
  // A label no key carries is a typo that would leave the controls to nobody, or to a key added later.
  const unknownAdmins = adminLabels.filter((l) => !apiKeys.some((k) => k.label === l));
  check(unknownAdmins.length === 0, 'API_ADMIN_LABELS', `names labels that no key in API_KEYS or API_KEY_HASHES has: ${unknownAdmins.join(', ')}`, 'API_KEYS', 'API_KEY_HASHES');

  const queues = [...new Set(vars.WORKER_QUEUES.split(',').map((q) => q.trim()))];
  const taskQueues: Record<string, string> = {};
  for (const pair of vars.TASK_QUEUE_OVERRIDES.split(',').filter((x) => x.trim() !== '')) {
    const [name, queue] = pair.split(':').map((x) => x.trim());
    check(!(name in taskQueues), 'TASK_QUEUE_OVERRIDES', `names ${name} twice`);
    taskQueues[name] = queue;
  }
  const allowedHosts = parseAllowedHosts(vars.CALLBACK_ALLOWED_HOSTS, problems);
  // An unsigned webhook could be forged by anyone who can reach the receiver.
  check(allowedHosts.length === 0 || vars.CALLBACK_SECRET !== undefined, 'CALLBACK_SECRET', 'must be set when CALLBACK_ALLOWED_HOSTS is: every delivery is signed', 'CALLBACK_ALLOWED_HOSTS');
  check(vars.CALLBACK_RETRY_BACKOFF_MAX >= vars.CALLBACK_RETRY_BACKOFF, 'CALLBACK_RETRY_BACKOFF_MAX', `must not be below CALLBACK_RETRY_BACKOFF (${vars.CALLBACK_RETRY_BACKOFF})`, 'CALLBACK_RETRY_BACKOFF');
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    server: {
      port: vars.PORT,
      apiKeys,
      bodyLimitBytes: Math.floor(vars.API_BODY_LIMIT_MB * 1024 * 1024),
      timeouts: { request: vars.API_REQUEST_TIMEOUT, headers: vars.API_HEADERS_TIMEOUT, keepAlive: vars.API_KEEPALIVE_TIMEOUT },
      jsonMaxDepth: vars.API_JSON_MAX_DEPTH,
      trustProxy,
      rateLimit: { perKey: vars.RATE_LIMIT_PER_MINUTE, unauthenticatedPerIp: vars.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE },
      docsAccess: vars.API_DOCS_ACCESS,
      metricsAccess: vars.API_METRICS_ACCESS,
      adminUi: vars.ADMIN_UI === 'on',
      sseHeartbeat: vars.SSE_HEARTBEAT_INTERVAL,
      adminLabels: adminLabels.length > 0 ? adminLabels : null,
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
      childNiceness: vars.WORKER_CHILD_NICENESS,
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
      queuePausedAfter: vars.ALERT_QUEUE_PAUSED_AFTER,
    },
    callbacks: {
      allowedHosts,
      secret: vars.CALLBACK_SECRET,
      maxAttempts: vars.CALLBACK_MAX_ATTEMPTS,
      timeout: vars.CALLBACK_TIMEOUT,
      backoff: vars.CALLBACK_RETRY_BACKOFF,
      backoffMax: vars.CALLBACK_RETRY_BACKOFF_MAX,
    },
    diagnostics: { enabled: vars.ENABLE_DIAGNOSTIC_TASKS },
    logLevel: vars.LOG_LEVEL,
    logFormat: vars.LOG_FORMAT,
  };
}

/** The API and the worker both refuse to run unauthenticated in production. */
export function requireApiKeys(config: AppConfig): void {
  if (config.server.apiKeys.length === 0) {
    throw new ConfigError('API_KEYS', 'or API_KEY_HASHES must be set (comma-separated [label:]key or [label:]sha256hex); `npm start` generates a key for local use');
  }
}

/** A host name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
const ALLOWED_HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

function parseAllowedHosts(value: string, problems: ConfigProblem[]): string[] {
  // Empty is unset, as a chart renders an optional value.
  if (value.trim() === '') return [];
  const hosts = value.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  for (const [n, host] of hosts.entries()) {
    const m = ALLOWED_HOST.exec(host);
    if (!m || (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535))) {
      problems.push({ variable: 'CALLBACK_ALLOWED_HOSTS', detail: `entry ${n + 1} (${JSON.stringify(host)}) is not a host or host:port` });
    }
  }
  return hosts;
}
