import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { REDIS_URL_PATTERN } from '../redis/redis.factory';

/** Parses "true"/"false"/"1"/"0"; anything else is left as a string so IsBoolean rejects it. */
const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return value;
};

/** Numbers from env: an empty string or junk must fail validation rather than become 0 or NaN silently. */
const toNumber = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim();
  if (v === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return value;
  return Number(v);
};

const Seconds = (min: number, max: number): PropertyDecorator => {
  return (target, key) => {
    Transform(toNumber)(target, key);
    IsNumber({ allowNaN: false, allowInfinity: false }, { message: `must be a number of seconds` })(target, key);
    Min(min)(target, key);
    Max(max)(target, key);
  };
};

const Int = (min: number, max: number): PropertyDecorator => {
  return (target, key) => {
    Transform(toNumber)(target, key);
    IsInt({ message: 'must be a whole number' })(target, key);
    Min(min)(target, key);
    Max(max)(target, key);
  };
};

const Num = (min: number, max: number): PropertyDecorator => {
  return (target, key) => {
    Transform(toNumber)(target, key);
    IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'must be a number' })(target, key);
    Min(min)(target, key);
    Max(max)(target, key);
  };
};

const Bool = (): PropertyDecorator => {
  return (target, key) => {
    Transform(toBoolean)(target, key);
    IsBoolean({ message: 'must be true or false' })(target, key);
  };
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** /docs and /metrics: served to anyone, only with a valid X-API-Key, or not at all. */
export const ENDPOINT_ACCESS = ['open', 'key', 'off'] as const;
export type EndpointAccess = (typeof ENDPOINT_ACCESS)[number];
/** The job inspection UI at /admin/queues: served (behind an API key) or not registered at all. */
export const ADMIN_UI_STATES = ['on', 'off'] as const;
export type AdminUiState = (typeof ADMIN_UI_STATES)[number];

/** A boolean, or proxy addresses and CIDRs (each is checked in loadConfig). */
const TRUST_PROXY_PATTERN = /^\s*(true|false|[0-9A-Fa-f.:/]+(\s*,\s*[0-9A-Fa-f.:/]+)*)\s*$/;

/**
 * Every variable Sluice reads, with its default. Property names are the variable names so that a
 * validation error names the variable the operator has to fix.
 */
export class EnvironmentVariables {
  @Int(1, 65535) PORT = 3000;
  @IsOptional()
  @Matches(REDIS_URL_PATTERN, { message: 'must be a redis://, rediss://, redis+sentinel://host:port[,host:port]/master or redis+cluster://host:port[,host:port] URL' })
  REDIS_URL?: string;
  // No braces: each queue's keys carry their own hash tag, `<prefix>:{<queue>}:…`, and Redis hashes
  // only a key's first `{…}`, so a braced prefix would put every queue in one cluster slot.
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, {
    message: ({ value }) =>
      /[{}]/.test(String(value))
        ? 'must not contain { or }: each queue gets its own hash tag (<prefix>:{<queue>}:...), so use a plain prefix such as sluice'
        : 'must be 1-64 characters of letters, digits, _ . -',
  })
  QUEUE_PREFIX = 'sluice';
  @IsOptional() @IsString() API_KEYS?: string;
  @IsOptional() @IsString() API_KEY_HASHES?: string;
  @Num(0.001, 1024) API_BODY_LIMIT_MB = 16;
  // How long a client may take to send its request (headers, the whole request, the next request on
  // a kept-alive connection). They bound receiving only: a slow answer is never cut by them.
  @Seconds(0.1, 3600) API_REQUEST_TIMEOUT = 60;
  @Seconds(0.1, 3600) API_HEADERS_TIMEOUT = 10;
  @Seconds(0.1, 3600) API_KEEPALIVE_TIMEOUT = 65;
  /** Deeper JSON bodies get 422 before validation: class-transformer recurses and overflows the stack. */
  @Int(1, 1000) API_JSON_MAX_DEPTH = 64;
  @Matches(TRUST_PROXY_PATTERN, {
    message: 'must be true, false, or a comma-separated list of proxy addresses or CIDRs',
  })
  API_TRUST_PROXY = 'false';
  @IsIn(ENDPOINT_ACCESS as unknown as string[], { message: `must be one of ${ENDPOINT_ACCESS.join(', ')}` })
  API_DOCS_ACCESS: EndpointAccess = 'open';
  @IsIn(ENDPOINT_ACCESS as unknown as string[], { message: `must be one of ${ENDPOINT_ACCESS.join(', ')}` })
  API_METRICS_ACCESS: EndpointAccess = 'open';
  @IsIn(ADMIN_UI_STATES as unknown as string[], { message: `must be one of ${ADMIN_UI_STATES.join(', ')}` })
  ADMIN_UI: AdminUiState = 'on';
  /** Requests per minute per API key, across all API pods; 0 turns the limit off. */
  @Int(0, 100_000_000) RATE_LIMIT_PER_MINUTE = 6000;
  /** Requests per minute per client IP for requests without a valid key; 0 turns the limit off. */
  @Int(0, 100_000_000) RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE = 60;
  /** Seconds between the comments that keep an idle task event stream (SSE) open through proxies. */
  @Seconds(0.05, 3600) SSE_HEARTBEAT_INTERVAL = 15;
  /** Labels of the keys that may pause and resume queues and cancel in bulk; empty: every key may. */
  @Matches(/^\s*$|^\s*[A-Za-z0-9_.-]{1,64}(\s*,\s*[A-Za-z0-9_.-]{1,64})*\s*$/, {
    message: 'must be a comma-separated list of API key labels (1-64 letters, digits, _ . or -)',
  })
  API_ADMIN_LABELS = '';

  @Seconds(0.05, 7 * 24 * 3600) TASK_TIME_LIMIT = 600;
  @Seconds(0.01, 7 * 24 * 3600) TASK_SOFT_TIME_LIMIT = 540;
  @Int(0, 100) TASK_MAX_RETRIES = 3;
  @Seconds(0, 7 * 24 * 3600) TASK_RETRY_BACKOFF = 60;
  @Seconds(0, 7 * 24 * 3600) TASK_RETRY_BACKOFF_MAX = 600;
  @Bool() TASK_RETRY_JITTER = true;
  @Seconds(1, 365 * 24 * 3600) TASK_RESULT_EXPIRES = 86400;

  @Int(1, 65535) WORKER_PORT = 3001;
  @Int(1, 256) WORKER_CONCURRENCY = 4;
  @Int(1, 64) WORKER_PREFETCH_MULTIPLIER = 1;
  @Int(0, 1_000_000) WORKER_MAX_TASKS_PER_CHILD = 10;
  @Int(0, 1024 * 1024 * 1024) WORKER_MAX_MEMORY_PER_CHILD = 2048000;
  @Int(0, 19) WORKER_CHILD_NICENESS = 10;
  @Matches(/^\s*[A-Za-z0-9_.-]+(\s*,\s*[A-Za-z0-9_.-]+)*\s*$/, { message: 'must be a comma-separated list of queue names' })
  WORKER_QUEUES = 'cpu_intensive';

  @IsString()
  @Matches(/^\s*$|^\s*[A-Za-z0-9_.-]+\s*:\s*[A-Za-z0-9_-]{1,64}(\s*,\s*[A-Za-z0-9_.-]+\s*:\s*[A-Za-z0-9_-]{1,64})*\s*$/, {
    message: 'must be a comma-separated list of task_name:queue pairs, queue names of letters, digits, _ and -',
  })
  TASK_QUEUE_OVERRIDES = '';
  @Seconds(0, 3600) WORKER_CANCEL_GRACE = 5;
  @Seconds(0.5, 3600) WORKER_LOCK_DURATION = 30;
  @Seconds(0.2, 3600) WORKER_STALLED_INTERVAL = 30;

  @Num(0, 100) ALERT_FAILURE_RATE_WARNING = 10;
  @Num(0, 100) ALERT_FAILURE_RATE_CRITICAL = 20;
  @Seconds(0, 7 * 24 * 3600) ALERT_TASK_DURATION_WARNING = 480;
  @Seconds(0, 7 * 24 * 3600) ALERT_TASK_DURATION_CRITICAL = 570;
  @Num(0, 1024 * 1024) ALERT_MEMORY_WARNING_MB = 1536;
  @Num(0, 1024 * 1024) ALERT_MEMORY_CRITICAL_MB = 1946;
  @Seconds(1, 30 * 24 * 3600) ALERT_WINDOW = 3600;
  @Int(1, 1_000_000) ALERT_MIN_SAMPLES = 10;
  @Seconds(0.1, 3600) ALERT_EVAL_INTERVAL = 5;
  /** A queue paused longer than this turns its queue_paused health alert critical. */
  @Seconds(1, 30 * 24 * 3600) ALERT_QUEUE_PAUSED_AFTER = 3600;
  /** How long every pod reports `redis_data_lost` after a wiped Redis is detected. */
  @Seconds(1, 30 * 24 * 3600) ALERT_DATA_LOST_HOLD = 3600;

  /** Completion webhooks (options.callback_url): off until hosts are allowed; see docs/operations.md. */
  @IsString() CALLBACK_ALLOWED_HOSTS = '';
  @IsOptional() @IsString() @Length(16, 1024, { message: 'must be 16 to 1024 characters' }) CALLBACK_SECRET?: string;
  @Int(1, 100) CALLBACK_MAX_ATTEMPTS = 5;
  @Seconds(0.1, 300) CALLBACK_TIMEOUT = 10;
  /** The first retry's delay; each later one doubles, up to CALLBACK_RETRY_BACKOFF_MAX. */
  @Seconds(0, 3600) CALLBACK_RETRY_BACKOFF = 5;
  @Seconds(0, 24 * 3600) CALLBACK_RETRY_BACKOFF_MAX = 600;

  @Bool() ENABLE_DIAGNOSTIC_TASKS = false;
  @IsIn(LOG_LEVELS as unknown as string[], { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevelName = 'info';
  /** `json` for log collectors (the default); `npm start` uses `pretty`, the seed's `INFO: …` lines. */
  @IsIn(LOG_FORMATS as unknown as string[], { message: `must be one of ${LOG_FORMATS.join(', ')}` })
  LOG_FORMAT: LogFormat = 'json';
}

export const ENV_VARIABLES = [...Object.keys(new EnvironmentVariables()), 'REDIS_URL', 'API_KEYS', 'API_KEY_HASHES', 'CALLBACK_SECRET'];
