import { DevRedis } from './dev-redis';

export interface BannerInput {
  apiPort: number;
  workerPort: number;
  adminUi: boolean;
  docs: boolean;
  redis: DevRedis;
  redisPrefix: string;
  /** Data folder of the embedded Redis, as shown to the user. */
  redisDataDir: string;
  /** Shown only when npm start made or keeps it; a configured key is never printed. */
  devKey?: { key: string; file: string; generated: boolean };
}

/**
 * The last thing `npm start` prints: where everything is, which Redis is used and why, and the key
 * when it is npm start's own. Written to stdout, outside the logger, so it reads the same in
 * either LOG_FORMAT and is not mistaken for a log line by a collector.
 */
export function devBanner(input: BannerInput): string {
  const base = `http://127.0.0.1:${input.apiPort}`;
  const rows: [string, string][] = [
    ['API', `${base}/api/v1/tasks`],
    ...(input.docs ? ([['API docs', `${base}/docs`]] as [string, string][]) : []),
    ...(input.adminUi ? ([['Jobs UI', `${base}/admin/queues  (any user name; the API key as password)`]] as [string, string][]) : []),
    ['Worker', `http://127.0.0.1:${input.workerPort}/health/ready`],
    ['Redis', `${describeRedisUrl(input.redis.url)}, prefix ${input.redisPrefix}`],
    ['', redisReason(input.redis, input.redisDataDir)],
  ];
  if (input.devKey) {
    rows.push(['API key', input.devKey.key]);
    rows.push(['', `${input.devKey.generated ? 'generated now and kept' : 'kept'} in ${input.devKey.file}; set API_KEYS to use your own`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const example = input.devKey
    ? `  Try:  curl -H 'X-API-Key: ${input.devKey.key}' ${base}/api/v1/tasks/health`
    : `  Try:  curl -H "X-API-Key: <a key from API_KEYS>" ${base}/api/v1/tasks/health`;
  return ['', '  Sluice is ready', '', ...lines, '', example, ''].join('\n') + '\n';
}

function redisReason(redis: DevRedis, dataDir: string): string {
  switch (redis.source) {
    case 'REDIS_URL':
      return '(from REDIS_URL)';
    case 'local':
      return '(REDIS_URL is unset and a Redis answered on 127.0.0.1:6379: its data, earlier tasks and counters included, is used; set REDIS_URL to choose another)';
    case 'embedded':
      return `(embedded redis-server started by npm start, port ${redis.embedded?.port}; data kept in ${dataDir}, delete it to start empty)`;
  }
}

/** The URL with its password masked, and, for a plain redis:// URL, the db it selects. */
export function describeRedisUrl(raw: string): string {
  const masked = raw.replace(/^([a-z+]+:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
  const plain = /^rediss?:\/\/([^/]*)(?:\/(\d*))?$/.exec(masked);
  if (!plain) return masked;
  const scheme = masked.slice(0, masked.indexOf('//') + 2);
  return `${scheme}${plain[1]} db ${plain[2] ? Number(plain[2]) : 0}`;
}
