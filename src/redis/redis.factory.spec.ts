import { REDIS_URL_PATTERN, clusterConnection, redisConnectionOptions } from './redis.factory';

describe('redisConnectionOptions', () => {
  it('reads host, port, credentials, db and TLS from a direct URL', () => {
    expect(redisConnectionOptions('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(redisConnectionOptions('rediss://user:p%40ss@redis.example:6390')).toEqual({
      host: 'redis.example',
      port: 6390,
      username: 'user',
      password: 'p@ss',
      tls: {},
    });
    expect(redisConnectionOptions('redis://redis')).toEqual({ host: 'redis', port: 6379 });
  });

  it('reads sentinels and the master name from a redis+sentinel URL', () => {
    expect(redisConnectionOptions('redis+sentinel://:secret@s1:26379,s2:26380/mymaster/1')).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
      password: 'secret',
      sentinelPassword: 'secret',
      db: 1,
    });
  });

  it('reads the seed nodes and credentials of a redis+cluster URL, and nothing from other forms', () => {
    expect(clusterConnection('redis+cluster://:pw@n1:7000,n2:7001')).toEqual({
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      options: { password: 'pw' },
    });
    expect(clusterConnection('rediss+cluster://n1:7000/')).toEqual({ nodes: [{ host: 'n1', port: 7000 }], options: { tls: {} } });
    expect(clusterConnection('redis://n1:7000')).toBeNull();
  });

  it.each(['redis://h:1', 'rediss://h', 'redis+sentinel://s1:26379/m', 'redis+sentinel://a:1,b:2/m/3', 'redis+cluster://a:1,b:2', 'redis+cluster://a:1'])('accepts %s', (url) => {
    expect(REDIS_URL_PATTERN.test(url)).toBe(true);
  });
  it.each(['localhost:6379', 'http://h', 'redis+sentinel://s1/m', 'redis+sentinel://s1:1'])('rejects %s', (url) => {
    expect(REDIS_URL_PATTERN.test(url)).toBe(false);
  });
});
