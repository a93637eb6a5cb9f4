import type pg from 'pg';
import { aggregateStates, bucketTime, mergeCandles, toCandle, type Candle, type CandleState, type CandleTick } from '../core/candle.js';
import { timeframeSeconds, type Timeframe } from '../core/timeframe.js';
import { databaseCall } from '../db/database-call.js';
import { candlesBetween, firstCandleTime, storedKeys, tickTimeRange } from '../db/candle-repository.js';
import type { CandleStore } from '../redis/candle-store.js';

export type CandleSource = 'cache' | 'database';

export interface CandleServiceOptions {
  cacheSize: number;
  cacheTtlS: number;
  /** Resolves once the schema is in place (migrations run in the background at start). */
  schemaReady?: Promise<unknown>;
}

export { isUnavailable } from '../db/database-call.js';

/** Merges two oldest-first lists of candle states; a bucket in both is combined. */
function mergeStateLists(a: CandleState[], b: CandleState[]): CandleState[] {
  const byTime = new Map<number, CandleState>(a.map((c) => [c.time, c]));
  for (const c of b) {
    const had = byTime.get(c.time);
    byTime.set(c.time, had ? mergeCandles(had, c) : c);
  }
  return [...byTime.values()].sort((x, y) => x.time - y.time);
}

/**
 * Candles cache-first. A hit is the Redis view, kept current by the ingest script. A miss (or a
 * request beyond the cache) aggregates in PostgreSQL, adds the ticks still waiting in the persist
 * queue, and fills the cache; concurrent misses for one key share one query.
 */
export class CandleService {
  private readonly inflight = new Map<string, Promise<Candle[]>>();

  constructor(
    private readonly store: CandleStore,
    private readonly db: pg.Pool,
    private readonly options: CandleServiceOptions,
  ) {}

  async candles(pair: string, tf: Timeframe, limit: number): Promise<{ source: CandleSource; candles: Candle[] }> {
    const cached = await this.store.readView(pair, tf);
    // Fewer candles than the cache holds means the cache has the pair's whole history.
    if (cached && (limit <= cached.length || cached.length < this.options.cacheSize)) {
      return { source: 'cache', candles: cached.slice(-limit) };
    }
    const want = Math.max(limit, this.options.cacheSize);
    const key = `${pair}\n${tf}\n${want}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fillWhenReady(pair, tf, want).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return { source: 'database', candles: (await pending).slice(-limit) };
  }

  /**
   * History paging: the `limit` candles whose bucket opens before `beforeS` (epoch seconds), oldest
   * first. From the cache where it holds them (or holds the pair's whole history), else from the
   * database rollups plus the ticks still queued; the cache is not refilled by a page.
   */
  async candlesBefore(pair: string, tf: Timeframe, limit: number, beforeS: number): Promise<{ source: CandleSource; candles: Candle[] }> {
    const cached = await this.store.readView(pair, tf);
    if (cached) {
      const older = cached.filter((c) => c.time < beforeS);
      if (older.length >= limit || cached.length < this.options.cacheSize) return { source: 'cache', candles: older.slice(-limit) };
    }
    const candles = await this.whenDatabaseReady(async () => {
      const { ticks } = await this.store.unpersisted(pair);
      const { stored, queued } = await this.fromDatabase(pair, tf, limit, ticks, beforeS);
      return mergeStateLists(stored, queued).slice(-limit).map(toCandle);
    });
    return { source: 'database', candles };
  }

  private fillWhenReady(pair: string, tf: Timeframe, n: number): Promise<Candle[]> {
    return this.whenDatabaseReady(() => this.fill(pair, tf, n));
  }

  /** Runs a database read once the schema is in place; link and server failures become 503s. */
  private whenDatabaseReady<T>(read: () => Promise<T>): Promise<T> {
    return databaseCall(read, this.options.schemaReady);
  }


  /** Candle states for `n` buckets from the database and the queue, installed as the cache. */
  private async fill(pair: string, tf: Timeframe, n: number): Promise<Candle[]> {
    for (let attempt = 0; ; attempt++) {
      const { ticks, ...at } = await this.store.unpersisted(pair);
      const { stored, queued } = await this.fromDatabase(pair, tf, n, ticks);
      const merged = mergeStateLists(stored, queued).slice(-n);
      if (await this.store.fill(pair, tf, at, merged.slice(-this.options.cacheSize), this.options.cacheTtlS, this.options.cacheSize)) {
        // The view now includes ticks accepted while we read; serve it where it covers the request.
        if (n <= this.options.cacheSize) {
          const view = await this.store.readView(pair, tf);
          if (view) return view;
        }
        return merged.map(toCandle);
      }
      if (attempt >= 2) return merged.map(toCandle);
    }
  }

  /**
   * The newest `n` buckets of stored ticks (before `beforeS` when given), widening the time window
   * over gaps in the data, and the queued ticks not yet stored, all read in one snapshot: a queued
   * tick the persister committed meanwhile is counted once, from the database.
   */
  private async fromDatabase(pair: string, tf: Timeframe, n: number, queuedTicks: CandleTick[], beforeS?: number) {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const already = await storedKeys(client, pair, queuedTicks.map((t) => t.key));
      let queued = aggregateStates(
        queuedTicks.filter((t) => !already.has(t.key)),
        tf,
      );
      if (beforeS !== undefined) queued = queued.filter((c) => c.time < beforeS);
      const size = timeframeSeconds(tf);
      // A page reads down to the oldest stored candle (ticks may have expired, their candles not).
      const range =
        beforeS === undefined
          ? await tickTimeRange(client, pair).then((r) => r && { first: bucketTime(r.first, tf), to: Math.max(bucketTime(r.last, tf), queued.at(-1)?.time ?? 0) + size })
          : await firstCandleTime(client, pair, tf).then((first) => first !== null && { first, to: Math.ceil(beforeS / size) * size });
      let stored: CandleState[] = [];
      if (range && range.to > range.first) {
        const { first: firstBucket, to } = range;
        for (let span = n * size; ; span *= 4) {
          const from = Math.max(to - span, firstBucket);
          stored = await candlesBetween(client, pair, tf, from, to);
          if (stored.length >= n || from <= firstBucket) break;
        }
      }
      await client.query('COMMIT');
      return { stored: stored.slice(-n), queued };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
