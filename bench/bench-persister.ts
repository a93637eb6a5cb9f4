import pg from 'pg';
import type { Logger } from 'pino';
import { Metrics } from '../src/observability/metrics.js';
import { Persister } from '../src/persist/persister.js';
import { connectRedis, type RedisClient } from '../src/redis/connection.js';
import type { RedisKeys } from '../src/redis/keys.js';
import { SpanTimer, timeCalls } from './spans.js';

/** Where a persister's wall time went, in ms (overlapping calls of one kind count once). */
export interface PersistSpans {
  xreadgroup: SpanTimer;
  xack: SpanTimer;
  trim: SpanTimer;
  begin: SpanTimer;
  insert: SpanTimer;
  commit: SpanTimer;
  /** pool.connect() as the persister calls it per batch. */
  connect: SpanTimer;
}

/**
 * A fresh QuFLX Persister (the real class, unchanged) on the bench's key prefix and schema, like
 * test/integration/persistence.test.ts starts one, with Redis and PostgreSQL clients of its own
 * whose calls the benchmark times: XREADGROUP, XACK, the trim script, and the SQL of each batch.
 */
export class BenchPersister {
  readonly spans: PersistSpans = {
    xreadgroup: new SpanTimer(),
    xack: new SpanTimer(),
    trim: new SpanTimer(),
    begin: new SpanTimer(),
    insert: new SpanTimer(),
    commit: new SpanTimer(),
    connect: new SpanTimer(),
  };
  private closed: Promise<void> | null = null;

  private constructor(
    readonly persister: Persister,
    readonly metrics: Metrics,
    readonly redis: RedisClient,
    readonly pool: pg.Pool,
  ) {}

  static async create(options: {
    redisUrl: string;
    databaseUrl: string;
    keys: RedisKeys;
    consumer: string;
    batchIntervalMs: number;
    log: Logger;
  }): Promise<BenchPersister> {
    const redis = await connectRedis(options.redisUrl, 'bench-persister', options.log);
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    pool.on('error', () => undefined);
    let bench: BenchPersister | null = null;
    // Every client the pool makes gets its query() timed by statement kind.
    pool.on('connect', (client) => {
      const s = bench!.spans;
      const kind = (args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | undefined)?.text ?? '');
        return text.trimStart().slice(0, 6).toUpperCase();
      };
      timeCalls(client, 'query', s.begin, (a) => kind(a) === 'BEGIN');
      timeCalls(client, 'query', s.commit, (a) => kind(a) === 'COMMIT');
      timeCalls(client, 'query', s.insert, (a) => !['BEGIN', 'COMMIT'].includes(kind(a)));
    });
    const metrics = new Metrics({ defaultMetrics: false });
    const persister = new Persister(redis, pool, options.keys, metrics, options.log, {
      consumer: options.consumer,
      batchIntervalMs: options.batchIntervalMs,
    });
    bench = new BenchPersister(persister, metrics, redis, pool);
    const s = bench.spans;
    timeCalls(redis, 'xReadGroup', s.xreadgroup);
    timeCalls(redis, 'xAck', s.xack);
    timeCalls(redis, 'sendCommand', s.trim, (a) => Array.isArray(a[0]) && a[0][0] === 'EVALSHA');
    timeCalls(pool, 'connect', s.connect);
    return bench;
  }

  start(): void {
    this.persister.start();
  }

  get rowsWritten(): number {
    return this.persister.rowsWritten;
  }

  resetSpans(): void {
    for (const s of Object.values(this.spans)) s.reset();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.persister.close().catch(() => undefined);
      if (this.redis.isOpen) await this.redis.close().catch(() => this.redis.destroy());
      await this.pool.end().catch(() => undefined);
    })();
    return this.closed;
  }
}
