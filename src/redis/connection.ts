import { createClient, type RedisClientType, type RedisDefaultModules } from 'redis';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';

export type RedisClient = RedisClientType<RedisDefaultModules, {}, {}, 2>;

/**
 * A node-redis client set up for QuFLX: RESP2 for stable reply shapes, capped reconnect backoff,
 * no offline queue (callers keep their own bounded queues and get an error at once while Redis is
 * down), and no per-command timeout (node-redis 6 defaults to 5 s, counted from enqueue: with
 * thousands of pipelined commands that would fail healthy work under load). A dead link is found
 * by the ping interval and TCP keepalive; a Redis that stalls with the link open is met by
 * per-operation deadlines where QuFLX waits for an answer (see RedisLink).
 */
export async function connectRedis(url: string, name: string, log: Logger): Promise<RedisClient> {
  const client = createClient({
    url,
    RESP: 2,
    name,
    maintNotifications: 'disabled',
    disableOfflineQueue: true,
    pingInterval: 5000,
    commandOptions: { timeout: undefined },
    socket: {
      reconnectStrategy: (retries: number) => backoffDelay(retries),
      connectTimeout: 5000,
      keepAlive: true,
      keepAliveInitialDelay: 5000,
    },
  }) as unknown as RedisClient;
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message, client: name }, 'redis connection error; reconnecting');
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ client: name }, 'redis reconnected');
    down = false;
  });
  await client.connect();
  return client;
}
