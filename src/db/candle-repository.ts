import type pg from 'pg';
import type { CandleState } from '../core/candle.js';
import { timeframeSeconds, type Timeframe } from '../core/timeframe.js';
import type { EpochSeconds } from '../core/units.js';

/**
 * Candles aggregated in PostgreSQL with the same rules as core/candle.ts: integer buckets of the
 * tick's own ms timestamp, open/close by (timestamp, tick_key in byte order), volume = count.
 * Ticks whose identity is in `exclude` are left out (they are counted from the queue instead).
 */
const CANDLES_SQL = `
  WITH excluded AS (SELECT unnest($5::text[]) AS k)
  SELECT ("timestamp" / $2::int8) * ($2::int8 / 1000) AS time,
         (array_agg(price ORDER BY "timestamp", tick_key COLLATE "C"))[1] AS open,
         max(price) AS high,
         min(price) AS low,
         (array_agg(price ORDER BY "timestamp" DESC, tick_key COLLATE "C" DESC))[1] AS close,
         count(*) AS volume,
         min("timestamp") AS open_at,
         (array_agg(tick_key ORDER BY "timestamp", tick_key COLLATE "C"))[1] AS open_key,
         max("timestamp") AS close_at,
         (array_agg(tick_key ORDER BY "timestamp" DESC, tick_key COLLATE "C" DESC))[1] AS close_key
  FROM historical_ticks h
  WHERE pair = $1 AND "timestamp" >= $3::int8 AND "timestamp" < $4::int8
    AND NOT EXISTS (SELECT 1 FROM excluded e WHERE e.k = h.tick_key)
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

/** Candle states of the pair with bucket open in [fromS, toS), oldest first. */
export async function candlesBetween(
  db: pg.Pool | pg.ClientBase,
  pair: string,
  tf: Timeframe,
  fromS: number,
  toS: number,
  exclude: string[] = [],
): Promise<CandleState[]> {
  const tfMs = timeframeSeconds(tf) * 1000;
  const rows = await db.query<CandleRow>(CANDLES_SQL, [pair, tfMs, fromS * 1000, toS * 1000, exclude]);
  return rows.rows.map(toState);
}

/** Newest and oldest tick time (ms) of a pair, or null when it has none. */
export async function tickTimeRange(db: pg.Pool | pg.ClientBase, pair: string): Promise<{ first: number; last: number } | null> {
  const r = await db.query<{ first: string | null; last: string | null }>(
    'SELECT min("timestamp") AS first, max("timestamp") AS last FROM historical_ticks WHERE pair = $1',
    [pair],
  );
  const row = r.rows[0];
  return row?.first == null || row.last == null ? null : { first: Number(row.first), last: Number(row.last) };
}
