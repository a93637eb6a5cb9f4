import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { aggregateStates, type CandleState, type CandleTick } from '../core/candle.js';
import { tickIdentity } from '../core/identity.js';
import type { Timeframe } from '../core/timeframe.js';
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

/** Above this many rows the ticks go through COPY into a staging table instead of one `unnest`. */
export const COPY_THRESHOLD = 20_000;

/** Rollup bucket sizes in seconds (tick_rollups.size) and the timeframe each one is; every timeframe is a multiple of one. */
export const ROLLUPS = [
  { size: 5, tf: '5S' },
  { size: 60, tf: '1M' },
  { size: 3600, tf: '1H' },
] as const satisfies readonly { size: number; tf: Timeframe }[];
export const ROLLUP_SIZES = ROLLUPS.map((r) => r.size);

const INSERT_COLUMNS = 'INSERT INTO historical_ticks (pair, price, "timestamp", tick_key, feed_id, seq)';
const INSERT_TAIL = 'ON CONFLICT (pair, tick_key) DO NOTHING RETURNING pair, tick_key';
const UNNEST_SOURCE = 'SELECT * FROM unnest($1::varchar[], $2::float8[], $3::int8[], $4::text[], $5::text[], $6::int8[])';
const INSERT_UNNEST = `${INSERT_COLUMNS} ${UNNEST_SOURCE} ${INSERT_TAIL}`;
/** The same without RETURNING: when every row is new, there is nothing to learn from the reply. */
const INSERT_UNNEST_COUNT = `${INSERT_COLUMNS} ${UNNEST_SOURCE} ON CONFLICT (pair, tick_key) DO NOTHING`;
const INSERT_STAGED = `${INSERT_COLUMNS}
  SELECT pair, price, "timestamp", tick_key, feed_id, seq FROM ticks_staging
  ${INSERT_TAIL}`;

/** SQL: the tick of `a` (a_at, a_key) comes before that of `b`, keys in byte order. */
const earlier = (a: string, b: string) => `(${a}_at < ${b}_at OR (${a}_at = ${b}_at AND ${a}_key COLLATE "C" < ${b}_key COLLATE "C"))`;
const pick = (cond: string, col: string) => `${col} = CASE WHEN ${cond} THEN EXCLUDED.${col} ELSE r.${col} END`;

/** Merges partial buckets into tick_rollups; rows come sorted by key so concurrent writers cannot deadlock. */
const UPSERT_ROLLUPS = `
  INSERT INTO tick_rollups AS r (pair, size, bucket, open, high, low, close, volume, open_at, open_key, close_at, close_key)
  SELECT pair, size, bucket, open, high, low, close, volume, open_at, open_key, close_at, close_key
  FROM unnest($1::varchar[], $2::int4[], $3::int8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
              $8::int8[], $9::int8[], $10::text[], $11::int8[], $12::text[])
       WITH ORDINALITY AS u(pair, size, bucket, open, high, low, close, volume, open_at, open_key, close_at, close_key, n)
  ORDER BY n
  ON CONFLICT (pair, size, bucket) DO UPDATE SET
    high = GREATEST(r.high, EXCLUDED.high),
    low = LEAST(r.low, EXCLUDED.low),
    volume = r.volume + EXCLUDED.volume,
    ${pick(earlier('EXCLUDED.open', 'r.open'), 'open')},
    ${pick(earlier('EXCLUDED.open', 'r.open'), 'open_at')},
    ${pick(earlier('EXCLUDED.open', 'r.open'), 'open_key')},
    ${pick(earlier('r.close', 'EXCLUDED.close'), 'close')},
    ${pick(earlier('r.close', 'EXCLUDED.close'), 'close_at')},
    ${pick(earlier('r.close', 'EXCLUDED.close'), 'close_key')}`;

/**
 * Stores rows once each and folds exactly the newly stored ones into tick_rollups: a retried
 * batch changes neither. Returns how many rows were new. The two statements must commit
 * together: on a client, call it inside a transaction, one call at a time (it uses a savepoint);
 * a pool lends a client and wraps one.
 * The rollup buckets are computed here with the same code as live candles (core/candle.ts).
 */
export async function insertTicks(db: pg.Pool | pg.ClientBase, rows: readonly TickRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (db instanceof pg.Pool) return inTransaction(db, (client) => insertTicks(client, rows));
  const fresh = rows.length >= COPY_THRESHOLD ? newRows(rows, await insertByCopy(db, rows)) : await insertByUnnest(db, rows);
  if (fresh.length > 0) await upsertRollups(db, fresh);
  return fresh.length;
}

/** The rows whose identity the INSERT reported as stored now. */
function newRows(rows: readonly TickRow[], stored: Stored[]): readonly TickRow[] {
  if (stored.length === rows.length) return rows;
  const isNew = new Set(stored.map((r) => `${r.pair}\n${r.tick_key}`));
  return rows.filter((r) => isNew.delete(`${r.pair}\n${r.tickKey}`));
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

type Stored = { pair: string; tick_key: string };

/**
 * One `unnest` INSERT. Usually every row is new and the row count says so; only when some were
 * stored already (a retry, a replay) is the INSERT redone, inside a savepoint, returning which.
 */
async function insertByUnnest(client: pg.ClientBase, rows: readonly TickRow[]): Promise<readonly TickRow[]> {
  const params = [
    rows.map((r) => r.pair),
    rows.map((r) => r.price),
    rows.map((r) => r.timestamp),
    rows.map((r) => r.tickKey),
    rows.map((r) => r.feedId),
    rows.map((r) => r.seq),
  ];
  await client.query('SAVEPOINT insert_ticks');
  const counted = await client.query(INSERT_UNNEST_COUNT, params);
  if (counted.rowCount !== rows.length) {
    await client.query('ROLLBACK TO SAVEPOINT insert_ticks');
    const stored = await client.query<Stored>(INSERT_UNNEST, params);
    await client.query('RELEASE SAVEPOINT insert_ticks');
    return newRows(rows, stored.rows);
  }
  await client.query('RELEASE SAVEPOINT insert_ticks');
  return rows;
}

/** Bucket states of the rows for every rollup size, sorted by (pair, size, bucket). */
function rollupRows(rows: readonly TickRow[]): { pair: string; size: number; state: CandleState }[] {
  const byPair = new Map<string, CandleTick[]>();
  for (const r of rows) {
    const list = byPair.get(r.pair) ?? [];
    list.push({ price: r.price, timestamp: r.timestamp, key: r.tickKey });
    byPair.set(r.pair, list);
  }
  const out: { pair: string; size: number; state: CandleState }[] = [];
  for (const pair of [...byPair.keys()].sort()) {
    for (const { size, tf } of ROLLUPS) for (const state of aggregateStates(byPair.get(pair)!, tf)) out.push({ pair, size, state });
  }
  return out;
}

async function upsertRollups(client: pg.ClientBase, rows: readonly TickRow[]): Promise<void> {
  const buckets = rollupRows(rows);
  await client.query(UPSERT_ROLLUPS, [
    buckets.map((b) => b.pair),
    buckets.map((b) => b.size),
    buckets.map((b) => b.state.time),
    buckets.map((b) => b.state.open),
    buckets.map((b) => b.state.high),
    buckets.map((b) => b.state.low),
    buckets.map((b) => b.state.close),
    buckets.map((b) => b.state.volume),
    buckets.map((b) => b.state.openAt),
    buckets.map((b) => b.state.openKey),
    buckets.map((b) => b.state.closeAt),
    buckets.map((b) => b.state.closeKey),
  ]);
}

/** COPY into a temporary staging table (per session), then the same INSERT from it. */
async function insertByCopy(client: pg.ClientBase, rows: readonly TickRow[]): Promise<Stored[]> {
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
  const result = await client.query<Stored>(INSERT_STAGED);
  await client.query('TRUNCATE ticks_staging');
  return result.rows;
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
     ORDER BY "timestamp", tick_key COLLATE "C"`,
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
