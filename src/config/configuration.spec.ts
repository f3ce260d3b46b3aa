import { ConfigError } from './config.errors';
import { loadConfig, requireApiKeys } from './configuration';
import { sha256Hex } from './api-keys';

const load = (env: Record<string, string>) => loadConfig(env);

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = load({});
    expect(c.server).toEqual({
      port: 3000,
      apiKeys: [],
      bodyLimitBytes: 16 * 1024 * 1024,
      timeouts: { request: 60, headers: 10, keepAlive: 65 },
      jsonMaxDepth: 64,
      trustProxy: false,
      rateLimit: { perKey: 6000, unauthenticatedPerIp: 60 },
      docsAccess: 'open',
      metricsAccess: 'open',
      adminUi: true,
      sseHeartbeat: 15,
      adminLabels: null,
    });
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
      childNiceness: 10,
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
      queuePausedAfter: 3600,
    });
    expect(c.diagnostics.enabled).toBe(false);
    expect(c.logLevel).toBe('info');
  });

  it('accepts fractional seconds and 0 for the per-child limits', () => {
    const c = load({ TASK_TIME_LIMIT: '1.5', TASK_SOFT_TIME_LIMIT: '0.5', WORKER_MAX_TASKS_PER_CHILD: '0', WORKER_MAX_MEMORY_PER_CHILD: '0', WORKER_CHILD_NICENESS: '0', WORKER_CANCEL_GRACE: '0.25' });
    expect(c.task.timeLimit).toBe(1.5);
    expect(c.task.softTimeLimit).toBe(0.5);
    expect(c.worker.maxTasksPerChild).toBe(0);
    expect(c.worker.maxMemoryPerChildKiB).toBe(0);
    expect(c.worker.childNiceness).toBe(0);
    expect(c.worker.cancelGrace).toBe(0.25);
  });

  it('parses lists and booleans', () => {
    const c = load({ API_KEYS: ' a , b,,', WORKER_QUEUES: 'cpu_intensive, cpu_intensive', TASK_RETRY_JITTER: 'false', ENABLE_DIAGNOSTIC_TASKS: 'true', QUEUE_PREFIX: 'sluice.prod-1' });
    expect(c.server.apiKeys).toEqual([
      { label: `key-${sha256Hex('a').slice(0, 8)}`, sha256: sha256Hex('a') },
      { label: `key-${sha256Hex('b').slice(0, 8)}`, sha256: sha256Hex('b') },
    ]);
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
    ['WORKER_CHILD_NICENESS', '20'],
    ['WORKER_QUEUES', 'a,,b'],
    ['WORKER_LOCK_DURATION', '0'],
    ['ALERT_FAILURE_RATE_WARNING', '101'],
    ['ALERT_EVAL_INTERVAL', 'NaN'],
    ['ALERT_DATA_LOST_HOLD', '0'],
    ['ALERT_DATA_LOST_HOLD', 'an hour'],
    ['SSE_HEARTBEAT_INTERVAL', '0'],
    ['SSE_HEARTBEAT_INTERVAL', '15s'],
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

  it('reads SSE_HEARTBEAT_INTERVAL in seconds, fractions allowed', () => {
    expect(load({ SSE_HEARTBEAT_INTERVAL: '0.2' }).server.sseHeartbeat).toBe(0.2);
  });

  it('reads the webhook settings, and refuses allowed hosts without CALLBACK_SECRET or that are not hosts', () => {
    expect(load({}).callbacks).toEqual({ allowedHosts: [], secret: undefined, maxAttempts: 5, timeout: 10, backoff: 5, backoffMax: 600 });
    const c = load({ CALLBACK_ALLOWED_HOSTS: 'Hooks.Example.com, 10.0.0.7:8080,[::1]:9000', CALLBACK_SECRET: 'a-secret-of-16-chars' });
    expect(c.callbacks.allowedHosts).toEqual(['hooks.example.com', '10.0.0.7:8080', '[::1]:9000']);
    expect(() => load({ CALLBACK_ALLOWED_HOSTS: 'hooks.example.com' })).toThrow(/CALLBACK_SECRET must be set when CALLBACK_ALLOWED_HOSTS is/);
    expect(() => load({ CALLBACK_ALLOWED_HOSTS: 'http://hooks.example.com', CALLBACK_SECRET: 'a-secret-of-16-chars' })).toThrow(/CALLBACK_ALLOWED_HOSTS entry 1 \("http:\/\/hooks.example.com"\) is not a host or host:port/);
    expect(() => load({ CALLBACK_ALLOWED_HOSTS: 'h:70000', CALLBACK_SECRET: 'a-secret-of-16-chars' })).toThrow(/CALLBACK_ALLOWED_HOSTS entry 1/);
    expect(() => load({ CALLBACK_SECRET: 'short' })).toThrow(/CALLBACK_SECRET must be 16 to 1024 characters \(got <redacted>\)/);
  });

  it('reports every invalid variable at once, in one message naming each', () => {
    const err = (() => {
      try {
        load({ PORT: 'abc', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'loud' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    })();
    expect(err.problems.map((p) => p.variable).sort()).toEqual(['LOG_LEVEL', 'PORT', 'WORKER_CONCURRENCY']);
    expect(err.message).toMatch(/^Invalid configuration: .*PORT .*; .*WORKER_CONCURRENCY .*/);
  });

  it('never echoes a secret: URL passwords and key values are redacted', () => {
    const attempt = (env: Record<string, string>): string => {
      try {
        load(env);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const sentinel = attempt({ REDIS_URL: 'redis+sentinel://admin:S3cretPw@sentinel-0' });
    expect(sentinel).toMatch(/^Invalid configuration: REDIS_URL /);
    expect(sentinel).not.toContain('S3cretPw');
    expect(sentinel).toContain('admin:***@sentinel-0');
    const tokenOnly = attempt({ REDIS_URL: 'redis+cluster://T0ken-only@n1' });
    expect(tokenOnly).not.toContain('T0ken-only');
    const keys = attempt({ API_KEYS: 'bad label!:Sup3rSecretKey,ok:another-secret-key', API_KEY_HASHES: 'zz' });
    expect(keys).toMatch(/API_KEYS entry 1 has a label/);
    expect(keys).toMatch(/API_KEY_HASHES entry 1 is not a SHA-256/);
    for (const secret of ['Sup3rSecretKey', 'another-secret-key', 'zz']) expect(keys).not.toContain(secret);
  });

  it('reads labelled keys and key hashes; a key without a label is called key- and 8 hex digits of its SHA-256', () => {
    const h = sha256Hex('ops-secret-key');
    const c = load({ API_KEYS: 'billing:billing-secret-key,plain-secret-key', API_KEY_HASHES: `ops:${h},${sha256Hex('x').toUpperCase()}` });
    expect(c.server.apiKeys.map((k) => k.label)).toEqual(['billing', `key-${sha256Hex('plain-secret-key').slice(0, 8)}`, 'ops', `key-${sha256Hex('x').slice(0, 8)}`]);
    expect(c.server.apiKeys[2].sha256).toBe(h);
    expect(JSON.stringify(c.server)).not.toContain('billing-secret-key');
    expect(() => load({ API_KEYS: 'a:k1,a:k2' })).toThrow(/label a to more than one key/);
  });

  it('reads API_ADMIN_LABELS as labels of configured keys; empty means every key may', () => {
    const keys = { API_KEYS: 'ops:ops-secret-key,billing:billing-secret-key', API_KEY_HASHES: `audit:${sha256Hex('audit-key')}` };
    expect(load(keys).server.adminLabels).toBeNull();
    expect(load({ ...keys, API_ADMIN_LABELS: ' ' }).server.adminLabels).toBeNull();
    expect(load({ ...keys, API_ADMIN_LABELS: 'ops, audit,ops' }).server.adminLabels).toEqual(['ops', 'audit']);
    expect(() => load({ ...keys, API_ADMIN_LABELS: 'ops,opz' })).toThrow(/API_ADMIN_LABELS names labels that no key in API_KEYS or API_KEY_HASHES has: opz/);
    expect(() => load({ ...keys, API_ADMIN_LABELS: 'ops;billing' })).toThrow(/API_ADMIN_LABELS must be a comma-separated list of API key labels/);
  });

  it('reads ALERT_QUEUE_PAUSED_AFTER in seconds, at least 1', () => {
    expect(load({ ALERT_QUEUE_PAUSED_AFTER: '1.5' }).alerts.queuePausedAfter).toBe(1.5);
    expect(() => load({ ALERT_QUEUE_PAUSED_AFTER: '0' })).toThrow(/ALERT_QUEUE_PAUSED_AFTER/);
  });

  it('requires API keys for the production entry points', () => {
    expect(() => requireApiKeys(load({}))).toThrow(/API_KEYS/);
    expect(() => requireApiKeys(load({ API_KEYS: 'k' }))).not.toThrow();
    expect(() => requireApiKeys(load({ API_KEY_HASHES: sha256Hex('k') }))).not.toThrow();
  });
});
