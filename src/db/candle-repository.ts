import type pg from 'pg';
import type { CandleState } from '../core/candle.js';
import { timeframeSeconds, type Timeframe } from '../core/timeframe.js';
import type { EpochSeconds } from '../core/units.js';
import { encodeFeedId } from './feed-id.js';
import { findStored } from './stored-ticks.js';
import { ROLLUP_SIZES } from './tick-repository.js';

type Queryable = pg.Pool | pg.ClientBase;

/** The largest rollup that divides the timeframe: few rows to read, exact buckets. */
export function rollupFor(tf: Timeframe): number {
  const seconds = timeframeSeconds(tf);
  return [...ROLLUP_SIZES].reverse().find((size) => seconds % size === 0)!;
}

/**
 * Candles from tick_rollups with the same rules as core/candle.ts: UTC buckets of the ticks' own
 * timestamps, open/close by (timestamp, tick_key in byte order), volume = tick count.
 */
const CANDLES_SQL = `
  SELECT (bucket / $3::int8) * $3::int8 AS time,
         (array_agg(open ORDER BY open_at, open_key COLLATE "C"))[1] AS open,
         max(high) AS high,
         min(low) AS low,
         (array_agg(close ORDER BY close_at DESC, close_key COLLATE "C" DESC))[1] AS close,
         sum(volume) AS volume,
         min(open_at) AS open_at,
         (array_agg(open_key ORDER BY open_at, open_key COLLATE "C"))[1] AS open_key,
         max(close_at) AS close_at,
         (array_agg(close_key ORDER BY close_at DESC, close_key COLLATE "C" DESC))[1] AS close_key
  FROM tick_rollups
  WHERE pair = $1 AND size = $2 AND bucket >= $4::int8 AND bucket < $5::int8
  GROUP BY 1
  ORDER BY 1`;

interface CandleRow {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: string;
  open_at: string;
  open_key: string;
  close_at: string;
  close_key: string;
}

const toState = (r: CandleRow): CandleState => ({
  time: Number(r.time) as EpochSeconds,
  open: r.open,
  high: r.high,
  low: r.low,
  close: r.close,
  volume: Number(r.volume),
  openAt: Number(r.open_at),
  openKey: r.open_key,
  closeAt: Number(r.close_at),
  closeKey: r.close_key,
});

/** Candle states of the pair's stored ticks with bucket open in [fromS, toS), oldest first. */
export async function candlesBetween(db: Queryable, pair: string, tf: Timeframe, fromS: number, toS: number): Promise<CandleState[]> {
  const rows = await db.query<CandleRow>(CANDLES_SQL, [pair, rollupFor(tf), timeframeSeconds(tf), fromS, toS]);
  return rows.rows.map(toState);
}

/**
 * Oldest and newest tick time (ms) of a pair's candles, or null when it has none. From the hourly
 * rollups, which outlive the ticks (retention), so candles of days whose ticks are gone are found too.
 */
export async function tickTimeRange(db: Queryable, pair: string): Promise<{ first: number; last: number } | null> {
  const r = await db.query<{ first: string | null; last: string | null }>(
    `SELECT (SELECT open_at FROM tick_rollups WHERE pair = $1 AND size = 3600 ORDER BY bucket LIMIT 1) AS first,
            (SELECT close_at FROM tick_rollups WHERE pair = $1 AND size = 3600 ORDER BY bucket DESC LIMIT 1) AS last`,
    [pair],
  );
  const row = r.rows[0];
  return row?.first == null || row.last == null ? null : { first: Number(row.first), last: Number(row.last) };
}

/**
 * Bucket open (epoch s) of the pair's oldest candle of this timeframe in tick_rollups, or null.
 * Rollups outlive the ticks they came from, so this is where history really starts.
 */
export async function firstCandleTime(db: Queryable, pair: string, tf: Timeframe): Promise<number | null> {
  const size = timeframeSeconds(tf);
  const r = await db.query<{ first: string | null }>('SELECT min(bucket) AS first FROM tick_rollups WHERE pair = $1 AND size = $2', [pair, rollupFor(tf)]);
  const first = r.rows[0]?.first;
  return first == null ? null : Math.floor(Number(first) / size) * size;
}

/**
 * Which of these tick identities (core/identity.ts: `i:<id>` or `t:<timestamp>:<price>`) of the
 * pair are counted in the rollups already: stored in ticks, or remembered in expired_ticks.
 */
export async function storedKeys(db: Queryable, pair: string, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const id = (await db.query<{ id: number }>('SELECT id FROM tick_pairs WHERE pair = $1', [pair])).rows[0]?.id;
  if (id === undefined) return new Set();
  const probes = keys.map((key) => {
    if (key.startsWith('i:')) return { pairId: id, timestamp: 0, price: 0, ...encodeFeedId(key.slice(2)) };
    const [, timestamp, price] = /^t:(-?\d+):(.+)$/.exec(key) ?? [];
    return { pairId: id, timestamp: Number(timestamp), price: Number(price), num: null, text: null };
  });
  const found = await findStored(db, probes);
  const expired = await db.query<{ tick_key: string }>('SELECT tick_key FROM expired_ticks WHERE pair_id = $1 AND tick_key = ANY($2::text[])', [
    id,
    keys,
  ]);
  return new Set([...[...found].map((i) => keys[i]!), ...expired.rows.map((r) => r.tick_key)]);
}
