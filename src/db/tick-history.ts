import type pg from 'pg';
import type { EpochMs } from '../core/units.js';

type Queryable = pg.Pool | pg.ClientBase;

/** A stored tick as a page of history gives it: `seq` is null for ticks imported from CSV. */
export interface HistoryTick {
  pair: string;
  price: number;
  timestamp: EpochMs;
  seq: number | null;
}

/**
 * The `limit` stored ticks of a pair before `beforeMs`, oldest first. A page never splits a
 * millisecond: every tick at the page's oldest timestamp is in it, so the next page (before that
 * timestamp) misses none. Uses the (pair, timestamp) index from the newest end.
 */
const TICKS_BEFORE_SQL = `
  WITH page AS (
    SELECT "timestamp" FROM historical_ticks
    WHERE pair = $1 AND "timestamp" < $2
    ORDER BY "timestamp" DESC
    LIMIT $3
  )
  SELECT pair, price, "timestamp", seq FROM historical_ticks
  WHERE pair = $1 AND "timestamp" < $2 AND "timestamp" >= (SELECT min("timestamp") FROM page)
  ORDER BY "timestamp", seq NULLS FIRST`;

export async function ticksBefore(db: Queryable, pair: string, beforeMs: number, limit: number): Promise<HistoryTick[]> {
  const r = await db.query<{ pair: string; price: number; timestamp: string; seq: string | null }>(TICKS_BEFORE_SQL, [pair, beforeMs, limit]);
  return r.rows.map((row) => ({
    pair: row.pair,
    price: row.price,
    timestamp: Number(row.timestamp) as EpochMs,
    seq: row.seq === null ? null : Number(row.seq),
  }));
}
