import { Cluster, Redis, RedisOptions } from 'ioredis';
import { lifecycleCommands } from '../tasks/lifecycle/lifecycle-scripts';

/**
 * Commands from request paths must fail fast while Redis is away (the API answers 503), so these
 * clients neither queue offline commands nor wait long for a reply.
 */
export const FAIL_FAST_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 3000,
  connectTimeout: 3000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

/** Workers block on BRPOPLPUSH-style calls; BullMQ requires these to retry forever. */
export const BLOCKING_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  connectTimeout: 3000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

/** The URL forms REDIS_URL accepts; config validation uses it so a typo stops the boot. */
export const REDIS_URL_PATTERN =
  /^(rediss?):\/\/.+|^(rediss?)\+sentinel:\/\/(?:[^@/]*@)?[^/@]+:\d+(?:,[^/@,]+:\d+)*\/[^/]+(?:\/\d+)?$|^(rediss?)\+cluster:\/\/(?:[^@/]*@)?[^/@,]+:\d+(?:,[^/@,]+:\d+)*\/?$/;

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/@]+?)\/?$/;

export interface ClusterConnection {
  nodes: { host: string; port: number }[];
  options: RedisOptions;
}

/**
 * A Redis Cluster: `redis+cluster://[user:password@]host:port[,host:port...]`, any of its nodes
 * (the client discovers the rest). Null for the other URL forms.
 */
export function clusterConnection(url: string): ClusterConnection | null {
  const m = CLUSTER_URL.exec(url);
  if (!m) return null;
  const [, scheme, auth, hosts] = m;
  const [username, password] = splitAuth(auth);
  return {
    nodes: hosts.split(',').map((h) => {
      const i = h.lastIndexOf(':');
      return { host: h.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(h.slice(i + 1)) };
    }),
    options: { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(scheme === 'rediss' ? { tls: {} } : {}) },
  };
}

/**
 * Connection options from REDIS_URL. Besides `redis://` and `rediss://`, a Sentinel deployment is
 * `redis+sentinel://[user:password@]host:port[,host:port...]/master-name[/db]`: clients ask the
 * sentinels for the current primary and follow a failover.
 */
export function redisConnectionOptions(url: string): RedisOptions {
  const sentinel = /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/@]+)\/([^/]+)(?:\/(\d+))?$/.exec(url);
  if (!sentinel) return parseDirect(url);
  const [, scheme, auth, hosts, name, db] = sentinel;
  const [username, password] = splitAuth(auth);
  return {
    sentinels: hosts.split(',').map((h) => {
      const i = h.lastIndexOf(':');
      return { host: h.slice(0, i), port: Number(h.slice(i + 1)) };
    }),
    name: decodeURIComponent(name),
    ...(username ? { username } : {}),
    ...(password ? { password, sentinelPassword: password } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(scheme === 'rediss' ? { enableTLSForSentinelMode: true, tls: {} } : {}),
  };
}

function parseDirect(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function splitAuth(auth: string | undefined): [string | undefined, string | undefined] {
  if (!auth) return [undefined, undefined];
  const i = auth.indexOf(':');
  if (i < 0) return [undefined, decodeURIComponent(auth)];
  return [decodeURIComponent(auth.slice(0, i)) || undefined, decodeURIComponent(auth.slice(i + 1))];
}

/**
 * Every connection carries Sluice's lifecycle scripts under BullMQ's command names (as the `scripts`
 * option, so `duplicate()` copies them): BullMQ then runs them in place of its own, and no BullMQ
 * call on a Sluice queue can move a job without moving its task (see lifecycle-scripts.ts).
 */
export function createRedis(url: string, options: RedisOptions, name: string): Redis {
  const cluster = clusterConnection(url);
  if (cluster) {
    const { enableOfflineQueue, ...node } = options;
    // A Cluster client speaks the same commands; every script Sluice runs touches one queue's slot.
    return new Cluster(cluster.nodes, {
      scripts: lifecycleCommands(),
      enableOfflineQueue: enableOfflineQueue ?? true,
      clusterRetryStrategy: options.retryStrategy,
      redisOptions: { ...cluster.options, ...node, connectionName: name },
    }) as unknown as Redis;
  }
  return new Redis({ ...redisConnectionOptions(url), ...options, scripts: lifecycleCommands(), connectionName: name, lazyConnect: false });
}

/** `client.duplicate()` with other options, for a single node and for a Cluster alike. */
export function duplicateRedis(client: Redis, overrides: RedisOptions): Redis {
  if (client instanceof Cluster || (client as unknown as { isCluster?: boolean }).isCluster) {
    const c = client as unknown as Cluster;
    const { enableOfflineQueue, ...node } = overrides;
    return c.duplicate(undefined, {
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      redisOptions: { ...c.options.redisOptions, ...node },
    }) as unknown as Redis;
  }
  return client.duplicate(overrides);
}
