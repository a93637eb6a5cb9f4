import { readFileSync } from 'node:fs';
import { createClient, createCluster, type RedisClientType, type RedisClusterType, type RedisDefaultModules } from 'redis';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';
import { redisUrls } from './redis-urls.js';

export type RedisClient = RedisClientType<RedisDefaultModules, {}, {}, 2>;
export type RedisClusterClient = RedisClusterType<RedisDefaultModules, {}, {}, 2>;

/** Where Redis is: one node, or a Redis Cluster reached through any of its nodes. */
export interface RedisTarget {
  /** Every node named in REDIS_URL (one, or a comma-separated list). */
  urls: string[];
  cluster: boolean;
  /** PEM of the CA that signed a `rediss://` server's certificate (REDIS_TLS_CA); the system's CAs when unset. */
  tlsCa?: string;
}

/** Refusals of the login that are worth a plain sentence (a wrong password is not a reason to retry). */
function explainConnectError(url: string, err: Error): Error {
  const msg = err.message;
  const where = new URL(url).host;
  if (/WRONGPASS|invalid username-password|NOAUTH|NOPERM/i.test(msg)) {
    return new Error(`REDIS_URL: Redis at ${where} refused the login (${msg}); check the user name and password in REDIS_URL`);
  }
  if (/certificate|self[- ]signed|SSL|TLS|EPROTO/i.test(msg)) {
    return new Error(`REDIS_URL: TLS to Redis at ${where} failed (${msg}); for a private CA set REDIS_TLS_CA to its PEM file`);
  }
  return new Error(`REDIS_URL: cannot reach Redis at ${where} (${msg})`);
}

/**
 * Connects once to the first node to learn what REDIS_URL points at: a list of nodes, or a node
 * whose `INFO cluster` says cluster_enabled:1, is a cluster. A wrong password or a TLS failure is
 * a clear error here, at start, instead of an endless reconnect loop.
 */
export async function detectRedisTarget(url: string, tlsCaFile?: string): Promise<RedisTarget> {
  const urls = redisUrls(url);
  const tlsCa = tlsCaFile ? readFileSync(tlsCaFile, 'utf8') : undefined;
  const probe = createClient({
    url: urls[0],
    RESP: 2,
    socket: { connectTimeout: 5000, reconnectStrategy: false, ...tlsOptions(urls[0]!, tlsCa) },
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const info = await probe.info('cluster');
    return { urls, cluster: urls.length > 1 || /cluster_enabled:1/.test(info), tlsCa };
  } catch (err) {
    throw explainConnectError(urls[0]!, err as Error);
  } finally {
    if (probe.isOpen) probe.destroy();
  }
}

function tlsOptions(url: string, ca: string | undefined): { tls?: true; ca?: string } {
  return url.startsWith('rediss:') ? { tls: true, ...(ca ? { ca } : {}) } : {};
}

/** Whether a client is a cluster client (the command surface is shared; raw commands and pub/sub differ). */
export function isCluster(client: RedisClient): boolean {
  return (client as unknown as { masters?: unknown }).masters !== undefined;
}

/** A raw command; on a cluster it goes to the master of `firstKey`'s slot. */
export function sendRaw(client: RedisClient, firstKey: string | undefined, args: string[]): Promise<unknown> {
  if (isCluster(client)) return (client as unknown as RedisClusterClient).sendCommand(firstKey, false, args);
  return client.sendCommand(args);
}

/**
 * A node-redis client set up for QuFLX: RESP2 for stable reply shapes, capped reconnect backoff,
 * no offline queue (callers keep their own bounded queues and get an error at once while Redis is
 * down), and no per-command timeout (node-redis 6 defaults to 5 s, counted from enqueue: with
 * thousands of pipelined commands that would fail healthy work under load). A dead link is found
 * by the ping interval and TCP keepalive; a Redis that stalls with the link open is met by
 * per-operation deadlines where QuFLX waits for an answer (see RedisLink).
 *
 * On a cluster this is node-redis's cluster client (one link per master, following MOVED,
 * failovers and slot moves), typed as a client: every command QuFLX sends names keys of one slot,
 * and the few calls that differ go through sendRaw and isCluster. It emits 'ready' whenever a
 * node link becomes ready, as a client does after a reconnect.
 */
export async function connectRedis(where: string | RedisTarget, name: string, log: Logger): Promise<RedisClient> {
  const target: RedisTarget = typeof where === 'string' ? { urls: [where], cluster: false } : where;
  const socket = {
    reconnectStrategy: (retries: number) => backoffDelay(retries),
    connectTimeout: 5000,
    keepAlive: true,
    keepAliveInitialDelay: 5000,
    ...tlsOptions(target.urls[0]!, target.tlsCa),
  };
  const common = {
    RESP: 2 as const,
    name,
    maintNotifications: 'disabled' as const,
    disableOfflineQueue: true,
    pingInterval: 5000,
    commandOptions: { timeout: undefined },
  };
  let client: RedisClient;
  if (target.cluster) {
    const first = new URL(target.urls[0]!);
    const { RESP, ...perNode } = common;
    const cluster = createCluster({
      // RESP is a cluster-wide option: inside `defaults` node-redis overrides it.
      RESP,
      rootNodes: target.urls.map((url) => ({ url })),
      defaults: {
        ...perNode,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        socket,
      },
      useReplicas: false,
    }) as unknown as RedisClusterClient;
    cluster.on('node-ready', () => cluster.emit('ready'));
    client = cluster as unknown as RedisClient;
  } else {
    client = createClient({ url: target.urls[0], ...common, socket }) as unknown as RedisClient;
  }
  let down = false;
  const onError = (err: Error) => {
    if (!down) log.warn({ err: err.message, client: name }, 'redis connection error; reconnecting');
    down = true;
  };
  client.on('error', onError);
  if (target.cluster) client.on('node-error', onError);
  client.on('ready', () => {
    if (down) log.info({ client: name }, 'redis reconnected');
    down = false;
  });
  try {
    await client.connect();
  } catch (err) {
    throw explainConnectError(target.urls[0]!, err as Error);
  }
  return client;
}

/** Closes a client: gracefully (its replies in flight arrive) when open, else at once, which also stops a reconnect loop. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.isOpen) await client.close().catch(() => client.destroy());
  else client.destroy();
}
