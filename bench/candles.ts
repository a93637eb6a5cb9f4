import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Logger } from 'pino';
import { CandleService } from '../src/candles/candle-service.js';
import type { Candle } from '../src/core/candle.js';
import { insertTicks, toRow, type TickRow } from '../src/db/tick-repository.js';
import type { Tick } from '../src/core/tick.js';
import { CandleStore } from '../src/redis/candle-store.js';
import { connectRedis } from '../src/redis/connection.js';
import type { RedisKeys } from '../src/redis/keys.js';
import { summarize, type Summary } from './stats.js';

export interface LoadResult {
  rows: number;
  wallMs: number;
  rowsPerS: number;
  fromMs: number;
  toMs: number;
}

/**
 * A day of one pair's ticks at `perMinute` (1000: 1.44M ticks), ending at the last whole minute,
 * written straight into historical_ticks with insertTicks in batches of `batch` (this also builds
 * tick_rollups, as the persister would have). `connections` writers each take an equal run of
 * whole hours, so no two of them ever touch the same rollup row.
 */
export async function loadTickDay(
  databaseUrl: string,
  options: { pair: string; perMinute: number; minutes: number; batch: number; connections: number; onProgress?: (rows: number) => void },
): Promise<LoadResult> {
  const total = options.perMinute * options.minutes;
  const toMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const fromMs = toMs - options.minutes * 60_000;
  const stepMs = 60_000 / options.perMinute;
  const hours = Math.ceil(options.minutes / 60);
  const writers = Math.max(1, Math.min(options.connections, hours));
  let done = 0;
  let nextReport = 250_000;
  const write = async (firstTick: number, endTick: number) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    let price = 1.25;
    try {
      for (let k = firstTick; k < endTick; ) {
        const n = Math.min(options.batch, endTick - k);
        const rows: TickRow[] = new Array(n);
        for (let i = 0; i < n; i++) {
          price = Math.max(0.0001, price * (1 + (Math.random() - 0.5) * 2e-4));
          const tick = { pair: options.pair, price: Math.round(price * 1e5) / 1e5, timestamp: Math.floor(fromMs + (k + i) * stepMs) } as Tick;
          rows[i] = toRow(tick);
        }
        // insertTicks writes ticks and rollups in two statements that must commit together.
        await client.query('BEGIN');
        await insertTicks(client, rows);
        await client.query('COMMIT');
        k += n;
        done += n;
        if (done >= nextReport) {
          options.onProgress?.(done);
          nextReport += 250_000;
        }
      }
    } finally {
      await client.end();
    }
  };
  const t0 = performance.now();
  const ticksPerHour = options.perMinute * 60;
  await Promise.all(
    Array.from({ length: writers }, (_, w) => {
      const a = Math.min(total, Math.round((w * hours) / writers) * ticksPerHour);
      const b = Math.min(total, Math.round(((w + 1) * hours) / writers) * ticksPerHour);
      return write(a, b);
    }),
  );
  const wallMs = performance.now() - t0;
  return { rows: total, wallMs, rowsPerS: total / (wallMs / 1000), fromMs, toMs };
}

export interface CandleReadResult {
  /** CandleService.candles() in-process (server-side), ms. */
  hit: Summary;
  fallback: Summary;
  /** GET /api/candles from a client in this process (keep-alive), ms, body parsed. */
  hitHttp: Summary;
  fallbackHttp: Summary;
  candles: number;
  /** Every fallback answered from the database and every hit from the cache, with `limit` candles each. */
  sourcesRight: boolean;
  /** The HTTP answer and the in-process one agree (same candles). */
  httpMatches: boolean;
}

/**
 * Cache hit and database fallback for `limit` candles of `tf`: through a CandleService of the
 * benchmark's own (the real class, on the app's keys and schema) and over HTTP against the app.
 * A fallback sample first drops the pair's cache for the timeframe (CandleStore.invalidate, as an
 * import does), so the read aggregates tick_rollups and refills the cache; a hit sample reads it.
 */
export async function measureCandleReads(options: {
  redisUrl: string;
  databaseUrl: string;
  keys: RedisKeys;
  appUrl: string;
  pair: string;
  limit: number;
  /** Candles each answer should hold: `limit`, or fewer when the data has fewer buckets. */
  expected: number;
  samples: number;
  cacheSize: number;
  log: Logger;
}): Promise<CandleReadResult> {
  const tf = '1M' as const;
  const redis = await connectRedis(options.redisUrl, 'bench-candles', options.log);
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  const store = new CandleStore(redis, options.keys);
  const service = new CandleService(store, pool, { cacheSize: options.cacheSize, cacheTtlS: 3600 });
  const url = `${options.appUrl}/api/candles?pair=${encodeURIComponent(options.pair)}&timeframe=${tf}&limit=${options.limit}`;
  let sourcesRight = true;
  const expect = (source: string, want: string, n: number) => {
    if (source !== want || n !== options.expected) sourcesRight = false;
  };
  const inProcess = async (want: 'cache' | 'database'): Promise<[number, Candle[]]> => {
    if (want === 'database') await store.invalidate(options.pair, [tf]);
    const t0 = performance.now();
    const r = await service.candles(options.pair, tf, options.limit);
    const ms = performance.now() - t0;
    expect(r.source, want, r.candles.length);
    return [ms, r.candles];
  };
  const overHttp = async (want: 'cache' | 'database'): Promise<[number, Candle[]]> => {
    if (want === 'database') await store.invalidate(options.pair, [tf]);
    const t0 = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as { source: string; candles: Candle[] };
    const ms = performance.now() - t0;
    expect(body.source, want, body.candles?.length ?? 0);
    return [ms, body.candles];
  };
  const sample = async (fn: () => Promise<[number, Candle[]]>): Promise<{ ms: number[]; last: Candle[] }> => {
    for (let i = 0; i < 5; i++) await fn(); // warm-up
    const ms: number[] = [];
    let last: Candle[] = [];
    for (let i = 0; i < options.samples; i++) {
      const [t, c] = await fn();
      ms.push(t);
      last = c;
    }
    return { ms, last };
  };
  try {
    const fallback = await sample(() => inProcess('database'));
    const hit = await sample(() => inProcess('cache'));
    const fallbackHttp = await sample(() => overHttp('database'));
    const hitHttp = await sample(() => overHttp('cache'));
    const httpMatches = JSON.stringify(hitHttp.last) === JSON.stringify(hit.last) && JSON.stringify(fallbackHttp.last) === JSON.stringify(fallback.last);
    return {
      hit: summarize(hit.ms),
      fallback: summarize(fallback.ms),
      hitHttp: summarize(hitHttp.ms),
      fallbackHttp: summarize(fallbackHttp.ms),
      candles: hit.last.length,
      sourcesRight,
      httpMatches,
    };
  } finally {
    await redis.close().catch(() => redis.destroy());
    await pool.end().catch(() => undefined);
  }
}
