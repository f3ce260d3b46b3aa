import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedRedis, startEmbeddedRedis } from '../../src/app/embedded-redis';

/** A redis-server of a suite's own (a TestRedis), which the suite may also kill and replace. */
export interface OwnRedis {
  url: string;
  prefix: string;
  port: number;
  /** The server running now: restartEmpty() replaces it. */
  embedded: EmbeddedRedis;
  /** SIGKILL the server, then start one that keeps nothing on the same port: a Redis that lost its data. */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `persistent`: AOF on in a temporary directory (removed on stop), as production runs it; without
 * it the server keeps nothing on disk. Either way `maxmemory-policy` is noeviction.
 */
export async function startOwnRedis(prefix: string, opts: { persistent: boolean }): Promise<OwnRedis> {
  const dataDir = opts.persistent ? mkdtempSync(join(tmpdir(), 'sluice-redis-')) : undefined;
  const first = await startEmbeddedRedis(dataDir ? { dataDir } : {});
  const own: OwnRedis = {
    url: first.url,
    prefix,
    port: first.port,
    embedded: first,
    restartEmpty: async () => {
      await kill(own.embedded);
      own.embedded = await startEmbeddedRedis({ port: own.port });
    },
    stop: async () => {
      await own.embedded.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return own;
}

function kill(server: EmbeddedRedis): Promise<void> {
  const child = server.process;
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
