import type pg from 'pg';
import type { Tick } from '../core/tick.js';
import type { EpochMs } from '../core/units.js';

type Queryable = pg.Pool | pg.ClientBase;

/**
 * The `limit` stored ticks of a pair before `beforeMs`, oldest first (ties in a millisecond by
 * feed id, then price: the same order every time). A page never splits a millisecond: every tick
 * at the page's oldest timestamp is in it, so the next page (before that timestamp) misses none.
 * Uses the (pair, timestamp) index from the newest end, in the day partitions it needs.
 */
const TICKS_BEFORE_SQL = `
  WITH page AS (
    SELECT "timestamp" FROM historical_ticks
    WHERE pair = $1 AND "timestamp" < $2
    ORDER BY "timestamp" DESC
    LIMIT $3
  )
  SELECT pair, price, "timestamp", feed_id FROM historical_ticks
  WHERE pair = $1 AND "timestamp" < $2 AND "timestamp" >= (SELECT min("timestamp") FROM page)
  ORDER BY "timestamp", feed_id COLLATE "C" NULLS FIRST, price`;

export async function ticksBefore(db: Queryable, pair: string, beforeMs: number, limit: number): Promise<Tick[]> {
  const r = await db.query<{ pair: string; price: number; timestamp: string; feed_id: string | null }>(TICKS_BEFORE_SQL, [pair, beforeMs, limit]);
  return r.rows.map((row) => {
    const tick: Tick = { pair: row.pair, price: row.price, timestamp: Number(row.timestamp) as EpochMs };
    if (row.feed_id !== null) tick.id = row.feed_id;
    return tick;
  });
}
