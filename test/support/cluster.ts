import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../src/app/embedded-redis';
import { waitFor } from './wait';

const run = promisify(execFile);

/** A real Redis Cluster of `masters` masters with one replica each, on free ports, for one suite. */
export interface TestCluster {
  url: string;
  ports: number[];
  /** The port of the master that owns `key`'s slot. */
  masterOf(key: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startTestCluster(masters = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
  const ports: number[] = [];
  const servers: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.exitCode !== null || s.signalCode !== null) return resolve();
            s.once('exit', () => resolve());
            s.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * 2; i++) {
      const port = await freePort();
      ports.push(port);
      // prettier-ignore
      servers.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no',
        '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' }));
    }
    for (const port of ports) await waitFor(`redis-server on ${port}`, () => ping(port), 5000, 50);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    await waitFor('the cluster to be ok on every node', async () => (await Promise.all(ports.map(clusterOk))).every(Boolean), 20_000, 200);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis+cluster://${ports
      .slice(0, masters)
      .map((p) => `127.0.0.1:${p}`)
      .join(',')}`,
    ports,
    masterOf: async (key) => {
      const r = new Redis(ports[0]);
      try {
        const slot = (await r.call('CLUSTER', 'KEYSLOT', key)) as number;
        const shards = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
        const owner = shards.find(([from, to]) => slot >= from && slot <= to);
        if (!owner) throw new Error(`no master owns slot ${slot}`);
        return owner[2][1];
      } finally {
        r.disconnect();
      }
    },
    stop,
  };
}

/** Asks one node `ask`, on a connection of its own that gives up at once; false when it cannot. */
async function probe(port: number, ask: (r: Redis) => Promise<boolean>): Promise<boolean> {
  const r = new Redis(port, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return await ask(r);
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

const ping = (port: number): Promise<boolean> => probe(port, async (r) => (await r.ping()) === 'PONG');
const clusterOk = (port: number): Promise<boolean> => probe(port, async (r) => /cluster_state:ok/.test((await r.call('CLUSTER', 'INFO')) as string));
