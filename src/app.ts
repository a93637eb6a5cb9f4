import type { AddressInfo } from 'node:net';
import { CandleService } from './candles/candle-service.js';
import type { Config } from './config/config.js';
import { Database, type DatabaseKind } from './db/database.js';
import { migrateWithRetry } from './db/migrate.js';
import { TickRetention } from './db/tick-retention.js';
import type { Feed } from './feeds/feed.js';
import { FeedPump } from './feeds/feed-pump.js';
import { Simulator } from './feeds/simulator.js';
import { WsFeed } from './feeds/ws-feed.js';
import { SocketGateway } from './gateway/socket-gateway.js';
import { createHttpServer } from './http/http-server.js';
import { registerCandleRoutes } from './http/routes/candles.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerIndicatorRoutes } from './http/routes/indicators.js';
import { registerTickRoutes } from './http/routes/ticks.js';
import { registerWebRoutes } from './http/routes/web.js';
import { Ingestor } from './ingest/ingestor.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { Persister } from './persist/persister.js';
import { connectRedis, type RedisClient } from './redis/connection.js';
import type { RedisKind } from './redis/embedded-redis.js';
import { openServices } from './runtime/services.js';
import { CandleStore } from './redis/candle-store.js';
import { checkRedisDurability } from './redis/durability.js';
import { RedisKeys } from './redis/keys.js';
import { TickStore } from './redis/tick-store.js';

export interface AppOptions {
  /** Prefix for every Redis key and channel; tests use one each. Empty in production. */
  keyPrefix?: string;
  /** Overrides PERSIST_CONSUMER (tests run several apps in one process). */
  persistConsumer?: string;
  metrics?: Metrics;
}

type Closer = { name: string; close: () => Promise<void> };

/**
 * QuFLX wired together: embedded or external Redis and PostgreSQL, the ingest path, the feed,
 * HTTP and Socket.IO on one port. `close()` stops it all in dependency order, once.
 */
export class QuflxApp {
  private closing: Promise<void> | null = null;

  private constructor(
    readonly url: string,
    readonly keys: RedisKeys,
    readonly store: TickStore,
    readonly persister: Persister,
    readonly ingestor: Ingestor,
    readonly gateway: SocketGateway,
    readonly metrics: Metrics,
    readonly redisKind: RedisKind,
    readonly databaseKind: DatabaseKind,
    readonly feed: Feed | null,
    private readonly closers: Closer[],
    private readonly log: Logger,
  ) {}

  static async start(config: Config, log: Logger, options: AppOptions = {}): Promise<QuflxApp> {
    // Closers run in reverse order of start; each part is pushed as soon as it exists,
    // so a failure half-way through start still releases what was taken.
    const closers: Closer[] = [];
    const closeAll = async () => {
      for (const c of closers.reverse()) {
        try {
          await c.close();
        } catch (err) {
          log.warn({ err, part: c.name }, 'error while closing');
        }
      }
    };
    try {
      const services = await openServices(config, log, 'server');
      closers.push({ name: 'embedded servers', close: () => services.close() });
      const { redisUrl, redisKind, databaseUrl, databaseKind } = services;
      const database = new Database(databaseUrl, databaseKind, log);
      closers.push({ name: 'database', close: () => database.close() });

      const redis = await connectRedis(redisUrl, 'quflx-cmd', log);
      closers.push({ name: 'redis', close: () => quit(redis) });
      const subscriberClient = await connectRedis(redisUrl, 'quflx-sub', log);
      closers.push({ name: 'redis subscriber', close: () => quit(subscriberClient) });
      log.info({ kind: redisKind, emulated: redisKind === 'emulated' }, 'redis connected');

      if (redisKind === 'external') await checkRedisDurability(redis, config.batchIntervalMs, log);

      const metrics = options.metrics ?? new Metrics();
      const keys = new RedisKeys(options.keyPrefix ?? config.keyPrefix);
      const store = new TickStore(redis, keys, { tickBufferSize: config.tickBufferSize, candleCacheSize: config.candleCacheSize });
      await store.init();

      // The persister starts once the schema is in place; an unreachable database only delays it.
      const persistClient = await connectRedis(redisUrl, 'quflx-persist', log);
      closers.push({ name: 'redis persister link', close: () => quit(persistClient) });
      const persister = new Persister(persistClient, database.pool, keys, metrics, log, {
        consumer: options.persistConsumer ?? config.persistConsumer,
        batchIntervalMs: config.batchIntervalMs,
      });
      const stopMigrating = new AbortController();
      closers.push({
        name: 'persister',
        close: async () => {
          stopMigrating.abort();
          await persister.close();
        },
      });
      const retention = new TickRetention(database.pool, log, { days: config.tickRetentionDays });
      closers.push({ name: 'tick retention', close: () => retention.close() });
      const schemaReady = migrateWithRetry(database.pool, log, stopMigrating.signal).then(async (ok) => {
        if (!ok) return ok;
        // Before the first write; a failure here only delays it to the first retention run.
        await retention.publishSetting().catch((err) => log.warn({ err: (err as Error).message }, 'tick retention: setting not saved yet'));
        persister.start();
        retention.start();
        return ok;
      });

      const ingestor = new Ingestor(store, metrics, log, { isAvailable: () => redis.isReady });
      closers.push({ name: 'ingestor', close: () => ingestor.close() });

      const http = createHttpServer(log);
      registerTickRoutes(http, {
        ingestor,
        store,
        metrics,
        ingestToken: config.ingestToken,
        tickBufferSize: config.tickBufferSize,
      });
      const candleStore = new CandleStore(redis, keys);
      const candles = new CandleService(candleStore, database.pool, {
        cacheSize: config.candleCacheSize,
        cacheTtlS: config.candleCacheTtlS,
        schemaReady,
      });
      registerCandleRoutes(http, { candles, cacheSize: config.candleCacheSize });
      registerIndicatorRoutes(http, { candles });
      registerHealthRoutes(http, { redis, redisKind, database, databaseKind, keys, metrics, lastWriteAt: () => persister.lastWriteAt });
      registerWebRoutes(http);
      const gateway = new SocketGateway(http.server, store, candleStore, candles, subscriberClient, keys, metrics, log, {
        snapshotSize: config.tickBufferSize,
        candleCacheSize: config.candleCacheSize,
      });
      closers.push({ name: 'http', close: () => http.close() });
      closers.push({ name: 'socket gateway', close: () => gateway.close() });
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address() as AddressInfo;
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

      let feed: Feed | null = null;
      if (config.feed.kind !== 'none') {
        let pump: FeedPump | null = null;
        feed =
          config.feed.kind === 'simulated'
            ? new Simulator({ pairs: config.assets, ticksPerMinute: config.ticksPerMinute })
            : new WsFeed({ url: config.feed.url, log, onBadMessage: (reason) => pump?.badMessage(reason) });
        pump = new FeedPump(feed, ingestor, metrics, log);
        const p = pump;
        closers.push({ name: 'feed', close: () => p.close() });
      }
      if (!config.ingestToken && !['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
        log.warn({ host: config.host }, 'listening beyond localhost with no INGEST_TOKEN: anyone who reaches this port can post ticks');
      }
      log.info({ url, feed: config.feed.kind, redis: redisKind, database: databaseKind }, 'QuFLX is running');
      return new QuflxApp(url, keys, store, persister, ingestor, gateway, metrics, redisKind, databaseKind, feed, closers, log);
    } catch (err) {
      await closeAll();
      throw err;
    }
  }

  /** Stops the feed, then HTTP and sockets, writes what is queued, and releases Redis and the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of [...this.closers].reverse()) {
        try {
          await c.close();
        } catch (err) {
          this.log.warn({ err, part: c.name }, 'error while closing');
        }
      }
      this.log.info('QuFLX stopped');
    })();
    return this.closing;
  }
}

async function quit(client: RedisClient): Promise<void> {
  if (client.isOpen) await client.close().catch(() => client.destroy());
  else client.destroy();
}
