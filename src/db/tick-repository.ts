import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { tickIdentity } from '../core/identity.js';
import type { Tick } from '../core/tick.js';
import { asEpochMs } from '../core/units.js';

/** One `historical_ticks` row as QuFLX writes it. */
export interface TickRow {
  pair: string;
  price: number;
  timestamp: number;
  tickKey: string;
  feedId: string | null;
  seq: number | null;
}

export function toRow(tick: Tick & { seq?: number }): TickRow {
  return {
    pair: tick.pair,
    price: tick.price,
    timestamp: tick.timestamp,
    tickKey: tickIdentity(tick),
    feedId: tick.id === undefined ? null : String(tick.id),
    seq: tick.seq ?? null,
  };
}

/** Above this many rows COPY into a staging table beats one `unnest` statement. */
export const COPY_THRESHOLD = 20_000;

/** Rollup sizes in seconds (see tick_rollups in the migration); every timeframe is a multiple of one. */
export const ROLLUP_SIZES = [5, 60, 3600] as const;

/**
 * Stores ticks from `source` (rows of pair, price, timestamp, tick_key, feed_id, seq) once each,
 * and folds exactly the newly stored ones into tick_rollups, in one statement: a retried batch
 * changes neither. Rollup rows are upserted in key order so concurrent writers cannot deadlock.
 */
function insertStatement(source: string): string {
  return `
  WITH ins AS (
    INSERT INTO historical_ticks (pair, price, "timestamp", tick_key, feed_id, seq)
    ${source}
    ON CONFLICT (pair, tick_key) DO NOTHING
    RETURNING pair, price, "timestamp", tick_key
  ),
  agg AS (
    SELECT pair, s.size, ("timestamp" / (s.size * 1000)) * s.size AS bucket,
           (array_agg(price ORDER BY "timestamp", tick_key COLLATE "C"))[1] AS open,
           max(price) AS high, min(price) AS low,
           (array_agg(price ORDER BY "timestamp" DESC, tick_key COLLATE "C" DESC))[1] AS close,
           count(*) AS volume,
           min("timestamp") AS open_at,
           (array_agg(tick_key ORDER BY "timestamp", tick_key COLLATE "C"))[1] AS open_key,
           max("timestamp") AS close_at,
           (array_agg(tick_key ORDER BY "timestamp" DESC, tick_key COLLATE "C" DESC))[1] AS close_key
    FROM ins CROSS JOIN (VALUES ${ROLLUP_SIZES.map((n) => `(${n})`).join(', ')}) AS s(size)
    GROUP BY 1, 2, 3
  ),
  rolled AS (
    INSERT INTO tick_rollups AS r (pair, size, bucket, open, high, low, close, volume, open_at, open_key, close_at, close_key)
    SELECT * FROM agg ORDER BY pair, size, bucket
    ON CONFLICT (pair, size, bucket) DO UPDATE SET
      high = GREATEST(r.high, EXCLUDED.high),
      low = LEAST(r.low, EXCLUDED.low),
      volume = r.volume + EXCLUDED.volume,
      open = CASE WHEN ${EARLIER('EXCLUDED.open', 'r.open')} THEN EXCLUDED.open ELSE r.open END,
      open_at = CASE WHEN ${EARLIER('EXCLUDED.open', 'r.open')} THEN EXCLUDED.open_at ELSE r.open_at END,
      open_key = CASE WHEN ${EARLIER('EXCLUDED.open', 'r.open')} THEN EXCLUDED.open_key ELSE r.open_key END,
      close = CASE WHEN ${EARLIER('r.close', 'EXCLUDED.close')} THEN EXCLUDED.close ELSE r.close END,
      close_at = CASE WHEN ${EARLIER('r.close', 'EXCLUDED.close')} THEN EXCLUDED.close_at ELSE r.close_at END,
      close_key = CASE WHEN ${EARLIER('r.close', 'EXCLUDED.close')} THEN EXCLUDED.close_key ELSE r.close_key END
    RETURNING 1
  )
  SELECT count(*)::int AS inserted FROM ins`;
}

/** SQL: the tick of `a` (a.x_at, a.x_key) comes before that of `b`, keys in byte order. */
function EARLIER(a: string, b: string): string {
  return `(${a}_at < ${b}_at OR (${a}_at = ${b}_at AND ${a}_key COLLATE "C" < ${b}_key COLLATE "C"))`;
}

const INSERT_UNNEST = insertStatement(
  'SELECT * FROM unnest($1::varchar[], $2::float8[], $3::int8[], $4::text[], $5::text[], $6::int8[])',
);
const INSERT_STAGED = insertStatement('SELECT pair, price, "timestamp", tick_key, feed_id, seq FROM ticks_staging');

/**
 * Inserts rows once each: a row whose identity is stored already is skipped, so a retried batch
 * changes nothing, rollups included. One statement; returns how many rows were new. Runs on the
 * caller's client, inside the caller's transaction when there is one.
 */
export async function insertTicks(client: pg.Pool | pg.ClientBase, rows: readonly TickRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (rows.length >= COPY_THRESHOLD) return insertTicksByCopy(client, rows);
  const result = await client.query(INSERT_UNNEST, [
    rows.map((r) => r.pair),
    rows.map((r) => r.price),
    rows.map((r) => r.timestamp),
    rows.map((r) => r.tickKey),
    rows.map((r) => r.feedId),
    rows.map((r) => r.seq),
  ]);
  return (result.rows[0] as { inserted: number }).inserted;
}

/**
 * COPY into a temporary staging table, then one INSERT ... SELECT with the same dedup rule.
 * The staging table is per session, so a pool lends one client for the whole of it.
 */
async function insertTicksByCopy(db: pg.Pool | pg.ClientBase, rows: readonly TickRow[]): Promise<number> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  try {
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS ticks_staging
      (pair VARCHAR(32), price FLOAT8, "timestamp" INT8, tick_key TEXT, feed_id TEXT, seq INT8)`);
    await client.query('TRUNCATE ticks_staging');
    // Blocks of rows: one COPY message per row would cost a system call each.
    const blocks = (function* () {
      for (let i = 0; i < rows.length; i += 1000) {
        let block = '';
        for (const r of rows.slice(i, i + 1000)) {
          block += `${copyText(r.pair)}\t${r.price}\t${r.timestamp}\t${copyText(r.tickKey)}\t${r.feedId === null ? '\\N' : copyText(r.feedId)}\t${r.seq ?? '\\N'}\n`;
        }
        yield block;
      }
    })();
    await pipeline(Readable.from(blocks), client.query(copyFrom('COPY ticks_staging FROM STDIN')));
    const result = await client.query<{ inserted: number }>(INSERT_STAGED);
    await client.query('TRUNCATE ticks_staging');
    return result.rows[0]!.inserted;
  } finally {
    if (client !== db) (client as pg.PoolClient).release();
  }
}

/** Escapes a value for COPY's text format. */
function copyText(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export async function insertRejected(client: pg.Pool | pg.ClientBase, payload: string, reason: string): Promise<void> {
  // NUL cannot be stored in TEXT; keep the rest of the payload readable.
  await client.query('INSERT INTO rejected_ticks (payload, reason) VALUES ($1, $2)', [payload.replace(/\u0000/g, '\\u0000'), reason]);
}

export interface StoredTick {
  pair: string;
  price: number;
  timestamp: number;
  id: string | null;
}

/**
 * Streams a pair's ticks in time order from a server-side cursor: memory stays flat however
 * large the range. `from` / `to` are inclusive epoch ms.
 */
export function streamTicks(client: pg.ClientBase, pair: string, from: number | null, to: number | null): AsyncIterable<StoredTick> {
  const query = new QueryStream(
    `SELECT pair, price, "timestamp", feed_id FROM historical_ticks
     WHERE pair = $1 AND ($2::int8 IS NULL OR "timestamp" >= $2) AND ($3::int8 IS NULL OR "timestamp" <= $3)
     ORDER BY "timestamp", id`,
    [pair, from, to],
    { batchSize: 5000 },
  );
  const stream = client.query(query);
  return (async function* () {
    for await (const row of stream as AsyncIterable<{ pair: string; price: number; timestamp: string; feed_id: string | null }>) {
      yield { pair: row.pair, price: row.price, timestamp: asEpochMs(Number(row.timestamp)), id: row.feed_id };
    }
  })();
}
