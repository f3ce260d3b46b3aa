import { describeRedisUrl, devBanner } from './dev-banner';

describe('devBanner', () => {
  const base = { apiPort: 3000, workerPort: 3001, adminUi: true, docs: true, redisPrefix: 'sluice', redisDataDir: '.sluice/redis' };

  it('gives the URLs, the Redis and why, and a key npm start made', () => {
    const text = devBanner({
      ...base,
      redis: { url: 'redis://127.0.0.1:6379', source: 'local' },
      devKey: { key: 'k123', file: '.sluice/api-key', generated: true },
    });
    expect(text).toContain('API       http://127.0.0.1:3000/api/v1/tasks');
    expect(text).toContain('API docs  http://127.0.0.1:3000/docs');
    expect(text).toContain('Jobs UI   http://127.0.0.1:3000/admin/queues');
    expect(text).toContain('Redis     redis://127.0.0.1:6379 db 0, prefix sluice');
    expect(text).toMatch(/a Redis answered on 127\.0\.0\.1:6379: its data, earlier tasks and counters included, is used/);
    expect(text).toContain('API key   k123');
    expect(text).toContain("curl -H 'X-API-Key: k123' http://127.0.0.1:3000/api/v1/tasks/health");
  });

  it('leaves out what is off, and never has a key it did not make', () => {
    const text = devBanner({ ...base, adminUi: false, docs: false, redis: { url: 'redis://:pw@h:6380/2', source: 'REDIS_URL' } });
    expect(text).not.toMatch(/Jobs UI|API docs|API key|pw/);
    expect(text).toContain('redis://:***@h:6380 db 2, prefix sluice');
    expect(text).toContain('(from REDIS_URL)');
  });
});

describe('devBanner, embedded Redis', () => {
  it('says npm start started it, on which port, and where its data is kept', () => {
    const embedded = { url: 'redis://127.0.0.1:40123', port: 40123 } as unknown as NonNullable<Parameters<typeof devBanner>[0]['redis']['embedded']>;
    const text = devBanner({ ...{ apiPort: 3000, workerPort: 3001, adminUi: true, docs: true, redisPrefix: 'sluice', redisDataDir: '.sluice/redis' }, redis: { url: embedded.url, source: 'embedded', embedded } });
    expect(text).toContain('Redis     redis://127.0.0.1:40123 db 0, prefix sluice');
    expect(text).toContain('(embedded redis-server started by npm start, port 40123; data kept in .sluice/redis, delete it to start empty)');
  });
});

describe('describeRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379 db 0'],
    ['rediss://user:secret@host:6380/3', 'rediss://user:***@host:6380 db 3'],
    ['redis+sentinel://user:secret@a:26379,b:26379/mymaster/1', 'redis+sentinel://user:***@a:26379,b:26379/mymaster/1'],
    ['redis+cluster://a:7000,b:7001', 'redis+cluster://a:7000,b:7001'],
  ])('%s → %s', (url, shown) => expect(describeRedisUrl(url)).toBe(shown));
});
