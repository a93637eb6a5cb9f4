import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Reach checks read at scrape time by the `*_up` gauges; set by whoever owns the links. */
export interface LinkProbes {
  redis: () => Promise<boolean>;
  database: () => Promise<boolean>;
}

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event loop, GC); default on. */
  defaultMetrics?: boolean;
  /** Labels on every series, e.g. `{ worker: "1" }` in a worker of WORKERS=N (see cluster-metrics.ts). */
  labels?: Record<string, string>;
}

/** Every Prometheus metric QuFLX exports, on a registry of its own (so tests can run several apps). */
export class Metrics {
  readonly registry = new Registry();
  /** Read at scrape time by quflx_redis_up and quflx_database_up. */
  linkProbes: LinkProbes | null = null;
  readonly redisUp: Gauge = new Gauge({
    name: 'quflx_redis_up',
    help: '1 when Redis answered a probe within 1 s at scrape time, else 0',
    registers: [this.registry],
    collect: async (): Promise<void> => {
      if (this.linkProbes) this.redisUp.set((await this.linkProbes.redis()) ? 1 : 0);
    },
  });
  readonly databaseUp: Gauge = new Gauge({
    name: 'quflx_database_up',
    help: '1 when the database answered a probe within 1 s at scrape time, else 0',
    registers: [this.registry],
    collect: async (): Promise<void> => {
      if (this.linkProbes) this.databaseUp.set((await this.linkProbes.database()) ? 1 : 0);
    },
  });
  readonly ticksAccepted = new Counter({
    name: 'quflx_ticks_accepted_total',
    help: 'Ticks accepted (new, given a seq) by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly ticksRejected = new Counter({
    name: 'quflx_ticks_rejected_total',
    help: 'Ticks rejected by validation, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly ticksDuplicate = new Counter({
    name: 'quflx_ticks_duplicate_total',
    help: 'Ticks recognised as already seen, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly ticksOverPairLimit = new Counter({
    name: 'quflx_ticks_over_pair_limit_total',
    help: 'Ticks refused because their pair would be new past MAX_PAIRS, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly redisRoundTrip = new Histogram({
    name: 'quflx_redis_roundtrip_seconds',
    help: 'Round trip of one ingest micro-batch to Redis',
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly tickToPublish = new Histogram({
    name: 'quflx_tick_to_publish_seconds',
    help: 'From a tick entering ingest to its PUBLISH on Redis',
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly ingestBatchSize = new Histogram({
    name: 'quflx_ingest_batch_ticks',
    help: 'Ticks per Redis micro-batch',
    buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 2000, 5000],
    registers: [this.registry],
  });
  readonly socketClients = new Gauge({
    name: 'quflx_socket_clients',
    help: 'Connected Socket.IO clients',
    registers: [this.registry],
  });
  readonly socketSlowDisconnects = new Counter({
    name: 'quflx_socket_slow_disconnects_total',
    help: 'Socket.IO clients disconnected for falling too far behind (too much buffered for them), by transport',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly subscribesLimited = new Counter({
    name: 'quflx_subscribes_rate_limited_total',
    help: 'Socket.IO subscribe requests refused by the per-socket rate limit',
    registers: [this.registry],
  });
  readonly bufferOverflow = new Counter({
    name: 'quflx_buffer_overflow_total',
    help: 'Items dropped because a bounded buffer was full, by buffer',
    labelNames: ['buffer'] as const,
    registers: [this.registry],
  });
  readonly ingestQueued = new Gauge({
    name: 'quflx_ingest_queued_ticks',
    help: 'Ticks waiting in the ingest queue for Redis',
    registers: [this.registry],
  });
  readonly ingestCapacity = new Gauge({
    name: 'quflx_ingest_queue_capacity_ticks',
    help: 'Most ticks the ingest queue holds; feed ticks past it are dropped, HTTP posts get a 503',
    registers: [this.registry],
  });
  readonly latencySpikes = new Counter({
    name: 'quflx_latency_spikes_total',
    help: 'Redis round trips over 10 ms of a batch sent alone (not queued behind others)',
    registers: [this.registry],
  });

  readonly persistRows = new Counter({
    name: 'quflx_persist_rows_total',
    help: 'Ticks newly stored in historical_ticks',
    registers: [this.registry],
  });
  readonly persistFailures = new Counter({
    name: 'quflx_persist_failures_total',
    help: 'Failed attempts to write a batch to the database',
    registers: [this.registry],
  });
  readonly persistRejected = new Counter({
    name: 'quflx_persist_rejected_total',
    help: 'Ticks the database refused, kept in rejected_ticks',
    registers: [this.registry],
  });
  readonly persistBatchSeconds = new Histogram({
    name: 'quflx_persist_batch_seconds',
    help: 'Time to write one batch (transaction) to the database',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly persistPending = new Gauge({
    name: 'quflx_persist_pending_ticks',
    help: 'Accepted ticks waiting in the persist queue',
    registers: [this.registry],
  });
  readonly persistLag = new Gauge({
    name: 'quflx_persist_lag_seconds',
    help: 'Age of the oldest tick waiting in the persist queue',
    registers: [this.registry],
  });
  readonly persistInterval = new Gauge({
    name: 'quflx_persist_batch_interval_seconds',
    help: 'BATCH_INTERVAL_MS in seconds: the longest an accepted tick should wait before it is written to the database',
    registers: [this.registry],
  });
  readonly persistLastSuccess = new Gauge({
    name: 'quflx_persist_last_success_timestamp_seconds',
    help: 'When the persister last wrote a batch (epoch seconds)',
    registers: [this.registry],
  });

  readonly feedFrames = new Counter({
    name: 'quflx_feed_frames_total',
    help: 'WebSocket frames a feed read, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly feedFrameTicks = new Counter({
    name: 'quflx_feed_frame_ticks_total',
    help: 'Ticks found in the frames a feed read (before validation and dedup), by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly feedFramesWithoutTicks = new Counter({
    name: 'quflx_feed_frames_without_ticks_total',
    help: 'Frames that held no tick, by source and reason (control, no_ticks, bad_json, bad_packet, orphan_attachment)',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly feedIgnored = new Counter({
    name: 'quflx_feed_ignored_total',
    help: 'What a feed skipped or could not act on (targets of other kinds, unread pages, failed commands, incomplete binary events), by source and what',
    labelNames: ['source', 'what'] as const,
    registers: [this.registry],
  });
  readonly feedConnects = new Counter({
    name: 'quflx_feed_connects_total',
    help: 'Times a feed attached or connected (the first time and every time after a loss), by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  /** Read at scrape time by quflx_feed_up, for feeds that do not set it themselves (ws://). */
  feedLinks: (() => { source: string; up: boolean }[]) | null = null;
  readonly feedUp: Gauge<'source'> = new Gauge({
    name: 'quflx_feed_up',
    help: '1 while the feed is attached or connected, else 0, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
    collect: (): void => {
      for (const link of this.feedLinks?.() ?? []) this.feedUp.set({ source: link.source }, link.up ? 1 : 0);
    },
  });
  readonly feedSockets = new Gauge({
    name: 'quflx_feed_sockets',
    help: 'WebSockets a browser feed reads now, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly feedSuspectTicks = new Counter({
    name: 'quflx_feed_suspect_ticks_total',
    help: 'Accepted ticks whose price jumped far outside the pair\'s recent moves (kept), by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  /** Read at scrape time by the stale/suspect gauges; set by whoever watches feed health. */
  feedHealthCounts: (() => { stale: number; suspect: number }) | null = null;
  readonly feedStalePairs: Gauge = new Gauge({
    name: 'quflx_feed_stale_pairs',
    help: 'Pairs silent for much longer than their usual gap between ticks',
    registers: [this.registry],
    collect: (): void => this.feedStalePairs.set(this.feedHealthCounts?.().stale ?? 0),
  });
  readonly feedSuspectPairs: Gauge = new Gauge({
    name: 'quflx_feed_suspect_pairs',
    help: 'Pairs with a suspect price jump in the last minute',
    registers: [this.registry],
    collect: (): void => this.feedSuspectPairs.set(this.feedHealthCounts?.().suspect ?? 0),
  });

  readonly alertsFired = new Counter({
    name: 'quflx_alerts_fired_total',
    help: 'Price alerts this process fired (claimed in the database and announced)',
    registers: [this.registry],
  });
  readonly alertClaimRetries = new Counter({
    name: 'quflx_alert_claim_retries_total',
    help: 'Claims of a crossed price alert retried because the database did not answer',
    registers: [this.registry],
  });
  /** Read at scrape time by the watched-alerts gauge; set by the alert watch. */
  alertsWatchedCount: (() => number) | null = null;
  readonly alertsWatched: Gauge = new Gauge({
    name: 'quflx_alerts_watched',
    help: 'Price alerts not yet fired that this process checks every accepted tick against',
    registers: [this.registry],
    collect: (): void => this.alertsWatched.set(this.alertsWatchedCount?.() ?? 0),
  });

  constructor(options: MetricsOptions = {}) {
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'quflx_' });
  }
}
