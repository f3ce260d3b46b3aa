import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface EmbeddedRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override readonly name = 'RedisServerMissingError';
  constructor(binary: string) {
    super(
      `Could not run '${binary}': no Redis is configured or reachable, and redis-server is not installed. ` +
        'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a running Redis.',
    );
  }
}

export interface EmbeddedRedisOptions {
  binary?: string;
  /**
   * Keep the data here, with AOF (`appendfsync everysec`), so a restart finds it again. Without it
   * the server keeps nothing on disk.
   */
  dataDir?: string;
  /** A fixed port, e.g. to restart a server in place; otherwise a free one is picked. */
  port?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a `redis-server` on a loopback port, with `maxmemory-policy noeviction` as BullMQ needs.
 * Used by `npm start` when no Redis is configured or reachable (persistent, in `dataDir`), and by
 * the test suites (throwaway, unless they ask for a `dataDir`).
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions = {}, attempts = 3): Promise<EmbeddedRedis> {
  const binary = options.binary ?? 'redis-server';
  if (!onPath(binary)) throw new RedisServerMissingError(binary);
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  let lastError: Error | undefined;
  for (let i = 0; i < (options.port ? 1 : attempts); i++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(binary, port, options.dataDir);
    } catch (err) {
      if (err instanceof RedisServerMissingError) throw err;
      lastError = err as Error; // another process took the port between probe and bind: try another
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

function onPath(binary: string): boolean {
  if (binary.includes('/')) return existsSync(binary);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, binary)));
}

/** Where it exists, the kernel stops the server when we die, however we die (even SIGKILL). */
const SETPRIV = '/usr/bin/setpriv';

function launch(binary: string, port: number, dataDir: string | undefined): Promise<EmbeddedRedis> {
  // RDB snapshots stay off either way: AOF alone is what production runs (docs/operations.md).
  const storage = dataDir ? ['--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...storage, '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--loglevel', 'notice'];
  const [command, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', binary, ...args]] : [binary, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    // Keep draining the pipes after start-up: a full pipe would block redis-server.
    const onData = (chunk: Buffer): void => {
      if (ready) return;
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        ready = true;
        output = '';
        resolve({ url: `redis://127.0.0.1:${port}`, port, process: child, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new RedisServerMissingError(binary) : err),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${output.trim().slice(-500)}`)));
  });
}
