import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { EmbeddedRedis, freePort, startEmbeddedRedis } from '../../src/app/embedded-redis';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(30_000);

/** A redis+sentinel URL: the clients find the primary through a real redis-sentinel. */
describe('Redis Sentinel', () => {
  let primary: EmbeddedRedis;
  let sentinel: ChildProcess;
  let sentinelPort: number;

  beforeAll(async () => {
    primary = await startEmbeddedRedis();
    sentinelPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor sluice-primary 127.0.0.1 ${primary.port} 1\n`);
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    await waitFor('the sentinel to know the primary', async () => {
      const s = new Redis(sentinelPort, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
      s.on('error', () => undefined);
      try {
        await s.connect();
        const addr = (await s.call('SENTINEL', 'get-master-addr-by-name', 'sluice-primary')) as string[] | null;
        return addr?.[1] === String(primary.port);
      } catch {
        return false;
      } finally {
        s.disconnect();
      }
    }, 10_000, 100);
  });

  afterAll(async () => {
    sentinel.kill('SIGTERM');
    await primary.stop();
  });

  it('runs a task end to end through a redis+sentinel:// URL', async () => {
    const url = `redis+sentinel://127.0.0.1:${sentinelPort}/sluice-primary`;
    const s = await Stack.start({ REDIS_URL: url }, {}, { url, prefix: 'sentinel', stop: async () => undefined });
    try {
      const id = await s.submit('diagnostic.sleep', { seconds: 0 });
      expect((await s.until(id, 'completed')).result).toMatchObject({ soft_limit_hit: false });
      const direct = new Redis(primary.url);
      expect(await direct.exists(`sentinel:{cpu_intensive}:${id}`)).toBe(1);
      direct.disconnect();
    } finally {
      await s.stop();
    }
  });
});
