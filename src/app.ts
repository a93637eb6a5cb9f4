import type { AddressInfo } from 'node:net';
import { CandleService } from './candles/candle-service.js';
import { AlertBook } from './alerts/alert-book.js';
import { AlertWatch } from './alerts/alert-watch.js';
import type { Config } from './config/config.js';
import { Database, type DatabaseKind } from './db/database.js';
import { migrateWithRetry } from './db/migrate.js';
import { CdpFeed } from './feeds/cdp/cdp-feed.js';
import { TickRetention } from './db/tick-retention.js';
import type { Feed } from './feeds/feed.js';
import { FeedPump } from './feeds/feed-pump.js';
import { FeedWatch } from './feeds/feed-watch.js';
import { Simulator } from './feeds/simulator.js';
import { SimulatorHistory } from './feeds/simulator-history.js';
import { WsFeed } from './feeds/ws-feed.js';
import { SocketGateway } from './gateway/socket-gateway.js';
import { exposureWarnings, socketServerOptions, socketTokenGuard } from './http/exposure.js';
import { createHttpServer, type HttpLimits } from './http/http-server.js';
import { DEFAULT_HTTP_LIMITS } from './http/request-limits.js';
import { registerAlertRoutes } from './http/routes/alerts.js';
import { registerCandleRoutes } from './http/routes/candles.js';
import { registerCsvRoutes } from './http/routes/csv.js';
import { registerHealthRoutes, type ClusterView } from './http/routes/health.js';
import { refusePollingWithWorkers } from './http/socket-transports.js';
import { registerIndicatorRoutes } from './http/routes/indicators.js';
import { registerTickRoutes } from './http/routes/ticks.js';
import { registerWebRoutes } from './http/routes/web.js';
import { Ingestor } from './ingest/ingestor.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { PersisterThread } from './persist/persister-thread.js';
import { closeRedis, connectRedis, detectRedisTarget } from './redis/connection.js';
import type { RedisKind } from './redis/embedded-redis.js';
import { openServices, type Services } from './runtime/services.js';
import { CandleStore } from './redis/candle-store.js';
import { listStoredPairs } from './db/tick-pairs.js';
import { checkRedisDurability } from './redis/durability.js';
import { keysFor, type RedisKeys } from './redis/keys.js';
import { PersistOutbox } from './redis/persist-outbox.js';
import { PairRegistry } from './redis/pair-registry.js';
import { REDIS_DEADLINES_MS, RedisLink } from './redis/redis-link.js';
import { TickStore } from './redis/tick-store.js';

export interface AppOptions {
  /** Prefix for every Redis key and channel; tests use one each. Empty in production. */
  keyPrefix?: string;
  /** Overrides PERSIST_CONSUMER (tests run several apps in one process). */
  persistConsumer?: string;
  metrics?: Metrics;
  /** Shorter HTTP time limits (tests of them). */
  httpLimits?: Partial<HttpLimits>;
  /** Redis and PostgreSQL already opened (by the primary of WORKERS=N, which stops them); default: openServices. */
  services?: Services;
  /** Set in a worker of WORKERS=N (see src/runtime/cluster-worker.ts). */
  worker?: WorkerRole;
}

/** What changes in one of WORKERS=N worker processes sharing one port. */
export interface WorkerRole {
  index: number;
  /** Worker processes in all; long-polling clients are refused when more than one. */
  count: number;
  /** Whether this worker runs FEED and the simulator's history: one worker does, so every tick comes once. */
  runsFeed: boolean;
  /** /metrics and /health's feed section for every worker, gathered through the primary. */
  view: ClusterView;
}

type Closer = { name: string; close: () => Promise<void> };

/** The running parts a started app holds (see QuflxApp.start). */
interface AppParts {
  url: string;
  keys: RedisKeys;
  store: TickStore;
  registry: PairRegistry;
  persister: PersisterThread;
  ingestor: Ingestor;
  gateway: SocketGateway;
  metrics: Metrics;
  redisKind: RedisKind;
  databaseKind: DatabaseKind;
  feed: Feed | null;
  feedWatch: FeedWatch;
  alerts: AlertWatch;
  closers: Closer[];
  log: Logger;
}

/**
 * QuFLX wired together: embedded or external Redis and PostgreSQL, the ingest path, the feed,
 * HTTP and Socket.IO on one port. `close()` stops it all in dependency order, once.
 */
export class QuflxApp {
  private closing: Promise<void> | null = null;

  readonly url: string;
  readonly keys: RedisKeys;
  readonly store: TickStore;
  readonly registry: PairRegistry;
  readonly persister: PersisterThread;
  readonly ingestor: Ingestor;
  readonly gateway: SocketGateway;
  readonly metrics: Metrics;
  readonly redisKind: RedisKind;
  readonly databaseKind: DatabaseKind;
  readonly feed: Feed | null;
  readonly feedWatch: FeedWatch;
  readonly alerts: AlertWatch;
  private readonly closers: Closer[];
  private readonly log: Logger;

  private constructor(parts: AppParts) {
    this.url = parts.url;
    this.keys = parts.keys;
    this.store = parts.store;
    this.registry = parts.registry;
    this.persister = parts.persister;
    this.ingestor = parts.ingestor;
    this.gateway = parts.gateway;
    this.metrics = parts.metrics;
    this.redisKind = parts.redisKind;
    this.databaseKind = parts.databaseKind;
    this.feed = parts.feed;
    this.feedWatch = parts.feedWatch;
    this.alerts = parts.alerts;
    this.closers = parts.closers;
    this.log = parts.log;
  }

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
      const services = options.services ?? (await openServices(config, log, 'server'));
      closers.push({ name: 'embedded servers', close: () => services.close() });
      const { redisUrl, redisKind, databaseUrl, databaseKind } = services;
      const database = new Database(databaseUrl, databaseKind, log, { queryTimeoutMs: config.databaseQueryTimeoutMs });
      closers.push({ name: 'database', close: () => database.close() });

      const redisTarget = await detectRedisTarget(redisUrl, config.redisTlsCa);
      // Channels carry the database index, so deployments on other databases of this Redis stay apart.
      const keys = keysFor(options.keyPrefix ?? config.keyPrefix, redisTarget);
      const redis = await connectRedis(redisTarget, 'quflx-cmd', log);
      closers.push({ name: 'redis', close: () => closeRedis(redis) });
      const redisLink = new RedisLink(redis, 'quflx-cmd', log);
      const subscriberClient = await connectRedis(redisTarget, 'quflx-sub', log);
      closers.push({ name: 'redis subscriber', close: () => closeRedis(subscriberClient) });
      log.info({ kind: redisKind, emulated: redisKind === 'emulated', cluster: redisTarget.cluster }, 'redis connected');

      if (redisKind === 'external') await checkRedisDurability(redis, config.batchIntervalMs, log);

      const metrics = options.metrics ?? new Metrics();
      metrics.persistInterval.set(config.batchIntervalMs / 1000);
      const registry = new PairRegistry(redis, keys, { maxPairs: config.maxPairs });
      const persistConsumer = options.persistConsumer ?? config.persistConsumer;
      // On a cluster the ingest script fills per-pair outboxes; this moves them on to the persist streams.
      const outbox = keys.cluster
        ? new PersistOutbox(redis, keys, log, { consumer: persistConsumer, symbols: async () => Object.keys(await redis.hGetAll(keys.instruments())) })
        : null;
      if (outbox) closers.push({ name: 'persist outbox', close: () => outbox.close() });
      const store = new TickStore(redis, keys, {
        tickBufferSize: config.tickBufferSize,
        candleCacheSize: config.candleCacheSize,
        waitReplicas: config.redisWaitReplicas,
        onOutboxed: outbox ? (pairs) => outbox.kick(pairs) : undefined,
      });
      await store.init();
      outbox?.start();
      // Caches older than their pair's ticks (Redis restarted from its AOF, which leaves out cache
      // writes) go before anything reads them; again whenever Redis comes back.
      const candleStore = new CandleStore(redis, keys);
      const dropStaleCaches = async () => {
        let dropped = 0;
        for (const pair of await registry.all()) dropped += await candleStore.dropStale(pair);
        if (dropped > 0) log.info({ keys: dropped }, 'dropped candle caches older than their ticks (redis restarted)');
      };
      await dropStaleCaches();
      // Redis may come back (a 'ready' after this one) without its data: the names in use stay canonical.
      redis.on('ready', () => {
        registry.restore().catch((err: Error) => log.warn({ err: err.message }, 'could not restore pair names to redis'));
        dropStaleCaches().catch((err: Error) => log.warn({ err: err.message }, 'could not check candle caches'));
      });

      // The persister starts once the schema is in place; an unreachable database only delays it.
      // It runs in a thread of its own, with its own links: its batches never hold up live ticks.
      const persister = new PersisterThread(
        {
          redisTarget,
          keyPrefix: keys.prefix,
          databaseUrl,
          databaseKind,
          queryTimeoutMs: config.databaseQueryTimeoutMs,
          consumer: persistConsumer,
          batchIntervalMs: config.batchIntervalMs,
          logLevel: config.logLevel,
        },
        metrics,
        log,
      );
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
      // The stored pairs keep their names even when Redis lost the registry.
      registry
        .seedFrom(async () => ((await schemaReady) ? listStoredPairs(database.pool) : []))
        .catch((err: Error) => log.warn({ err: err.message }, 'could not seed pair names from the database'));

      const feedWatch = new FeedWatch(config.feed.kind, metrics);
      const alertWatch = new AlertWatch({
        pool: database.pool,
        redis,
        subscriber: subscriberClient,
        keys,
        store,
        metrics,
        log,
        options: { catchUpTicks: config.tickBufferSize },
      });
      closers.push({ name: 'alert watch', close: () => alertWatch.close() });
      const ingestor = new Ingestor(store, metrics, log, {
        isAvailable: () => redisLink.usable,
        deadline: (write) => redisLink.within(write, REDIS_DEADLINES_MS.ingest, 'ingest write'),
        registry,
        onAccepted: (ticks, source) => {
          feedWatch.accepted(ticks, source);
          alertWatch.check(ticks);
        },
      });
      closers.push({ name: 'ingestor', close: () => ingestor.close() });

      const exposure = { listenHost: config.host, allowedOrigins: config.allowedOrigins, accessToken: config.accessToken };
      const http = await createHttpServer(log, { limits: options.httpLimits, exposure });
      registerTickRoutes(http, {
        ingestor,
        store,
        redisLink,
        registry,
        metrics,
        ingestToken: config.ingestToken,
        tickBufferSize: config.tickBufferSize,
        db: database.pool,
      });
      const candles = new CandleService(candleStore, database.pool, {
        cacheSize: config.candleCacheSize,
        cacheTtlS: config.candleCacheTtlS,
        schemaReady,
      });
      registerCandleRoutes(http, { candles, registry, cacheSize: config.candleCacheSize });
      registerIndicatorRoutes(http, { candles, registry });
      const alertBook = new AlertBook({ pool: database.pool, redisLink, keys, registry, watch: alertWatch, schemaReady, maxAlerts: config.maxAlerts });
      registerAlertRoutes(http, { alerts: alertBook, accessToken: config.accessToken });
      await registerCsvRoutes(http, {
        pool: database.pool,
        registry,
        redis,
        keys,
        ingestToken: config.ingestToken,
        importMaxBytes: config.importMaxBytes,
        limits: { ...DEFAULT_HTTP_LIMITS, ...options.httpLimits },
        schemaReady,
        log,
      });
      registerHealthRoutes(http, {
        redis: redisLink,
        redisKind,
        database,
        databaseKind,
        keys,
        metrics,
        lastWriteAt: () => persister.lastWriteAt,
        feed: feedWatch,
        cluster: options.worker?.view,
      });
      registerWebRoutes(http);
      const gateway = new SocketGateway({
        httpServer: http.server,
        store,
        candleStore,
        candleService: candles,
        subscriberClient,
        keys,
        registry,
        metrics,
        log,
        options: { snapshotSize: config.tickBufferSize, candleCacheSize: config.candleCacheSize },
        serverOptions: refusePollingWithWorkers(socketServerOptions(exposure), options.worker?.count ?? 1),
      });
      if (config.accessToken) gateway.io.use(socketTokenGuard(config.accessToken));
      // Every client of every process hears each fired alert once.
      alertWatch.onFired((alert) => gateway.io.emit('alert', alert));
      await alertWatch.start(schemaReady);
      closers.push({ name: 'http', close: () => http.close() });
      closers.push({ name: 'socket gateway', close: () => gateway.close() });
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address() as AddressInfo;
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

      let feed: Feed | null = null;
      if (config.feed.kind !== 'none' && (options.worker?.runsFeed ?? true)) {
        let pump: FeedPump | null = null;
        const fc = config.feed;
        const simulatorStart = Date.now();
        feed =
          fc.kind === 'simulated'
            ? new Simulator({ pairs: config.assets, ticksPerMinute: config.ticksPerMinute })
            : fc.kind === 'cdp'
              ? new CdpFeed({ host: fc.host, port: fc.port, urlFilter: fc.urlFilter, log, metrics })
              : new WsFeed({ url: fc.url, log, onBadMessage: (reason) => pump?.badMessage(reason) });
        feedWatch.setFeed(feed);
        pump = new FeedPump(feed, ingestor, metrics, log);
        const p = pump;
        closers.push({ name: 'feed', close: () => p.close() });
        if (config.feed.kind === 'simulated' && config.simulatorHistoryHours > 0) {
          // In the background: the page has a full chart a few seconds after a first start.
          const history = new SimulatorHistory({
            pairs: config.assets,
            hours: config.simulatorHistoryHours,
            ticksPerMinute: config.ticksPerMinute,
            endMs: simulatorStart,
            db: database.pool,
            candles: candleStore,
            registry,
            schemaReady,
            log,
          });
          closers.push({ name: 'simulator history', close: () => history.close() });
        }
      }
      for (const warning of exposureWarnings({ ...exposure, ingestToken: config.ingestToken })) log.warn({ host: config.host }, warning);
      const running = { url, feed: feed ? config.feed.kind : 'none', redis: redisKind, database: databaseKind };
      log.info(running, options.worker ? 'worker is running' : 'QuFLX is running');
      return new QuflxApp({
        url,
        keys,
        store,
        registry,
        persister,
        ingestor,
        gateway,
        metrics,
        redisKind,
        databaseKind,
        feed,
        feedWatch,
        alerts: alertWatch,
        closers,
        log,
      });
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

