import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { aggregateStates, type CandleState, type CandleTick } from '../core/candle.js';
import { tickIdentity } from '../core/identity.js';
import type { Timeframe } from '../core/timeframe.js';
import type { Tick } from '../core/tick.js';
import { asEpochMs } from '../core/units.js';
import { backoffDelay } from '../lib/backoff.js';
import { compareCanonicalIntegers, encodeFeedId } from './feed-id.js';
import { findStored, type IdentityProbe } from './stored-ticks.js';
import { pairIds } from './tick-pairs.js';
import { dayOf, DAY_MS, ensureTickPartitions, partitionName } from './tick-partitions.js';

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

/** Above this many new rows for one day, they go in with COPY instead of `unnest` INSERTs. */
export const COPY_THRESHOLD = 20_000;
/**
 * Rows per `unnest` INSERT, and per COPY block: a whole batch's parameters built in one go held
 * the event loop for tens of milliseconds, and CSV imports and the simulator's history run
 * insertTicks on the server's (the persister has a thread of its own).
 */
const WRITE_SLICE = 5000;

/** Rollup bucket sizes in seconds (tick_rollups.size) and the timeframe each one is; every timeframe is a multiple of one. */
export const ROLLUPS = [
  { size: 5, tf: '5S' },
  { size: 60, tf: '1M' },
  { size: 3600, tf: '1H' },
] as const satisfies readonly { size: number; tf: Timeframe }[];
export const ROLLUP_SIZES = ROLLUPS.map((r) => r.size);

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

/** Adds a batch's new ticks to what tick_days says of each (pair, day). LEAST/GREATEST skip NULLs. Parameters from $<p>. */
const upsertDaysSql = (p: number) => `
  INSERT INTO tick_days AS d (pair_id, day, ticks, first_at, last_at, num_lo, num_hi, text_lo, text_hi)
  SELECT * FROM unnest($${p}::int4[], $${p + 1}::int4[], $${p + 2}::int8[], $${p + 3}::int8[], $${p + 4}::int8[], $${p + 5}::int8[],
                       $${p + 6}::int8[], $${p + 7}::text[], $${p + 8}::text[])
  ON CONFLICT (pair_id, day) DO UPDATE SET
    ticks = d.ticks + EXCLUDED.ticks,
    first_at = LEAST(d.first_at, EXCLUDED.first_at),
    last_at = GREATEST(d.last_at, EXCLUDED.last_at),
    num_lo = LEAST(d.num_lo, EXCLUDED.num_lo),
    num_hi = GREATEST(d.num_hi, EXCLUDED.num_hi),
    text_lo = LEAST(d.text_lo, EXCLUDED.text_lo),
    text_hi = GREATEST(d.text_hi, EXCLUDED.text_hi)`;

/** The retention every writer applies, from the database (the server sets it) and the database's clock. */
const RETENTION = `SELECT (extract(epoch FROM now()) * 1000)::int8 AS now_ms, tick_retention_days AS days FROM quflx_settings`;

/** One advisory lock per pair, in pair order, until the transaction ends: identity checks of one pair never overlap. */
const LOCK_PAIRS = `SELECT pg_advisory_xact_lock('tick_pairs'::regclass::oid::int, id) FROM unnest($1::int4[]) AS id`;

/** A row as stored: the pair's id and the feed id split by kind. */
interface Encoded extends IdentityProbe {
  row: TickRow;
}

/**
 * Stores rows once each and folds exactly the newly counted ones into tick_rollups: a retried
 * batch changes neither. Returns how many rows were new. Rows older than the retention
 * (TICK_RETENTION_DAYS, kept in quflx_settings) are not stored, but counted in their candles
 * once (their identities go to expired_ticks). Everything must commit together: on a client,
 * call it inside a transaction, one call at a time; given a pool, it runs in a transaction of
 * its own (and starts it again when it had to wait too long for a lock).
 *
 * The order matters: partitions first (their lock is taken only to create one), then the pairs'
 * advisory locks, then the identity lookup and the writes, so a tick is never stored twice even
 * by two processes at once (see 002_compact_ticks.sql). The rollup buckets are computed here
 * with the same code as live candles (core/candle.ts).
 */
export async function insertTicks(db: pg.Pool | pg.ClientBase, rows: readonly TickRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (db instanceof pg.Pool) return insertAlone(db, rows);
  const ids = await pairIds(db, rows.map((r) => r.pair));
  // Every row under its symbol's stored name (one instrument per symbol), then each identity once.
  const unique = firstOfEach(rows.map((r) => (ids.get(r.pair)!.pair === r.pair ? r : { ...r, pair: ids.get(r.pair)!.pair })));
  const retention = (await db.query<{ now_ms: string; days: number | null }>(RETENTION)).rows[0]!;
  const cutoff = retention.days === null ? -Infinity : Number(retention.now_ms) - retention.days * DAY_MS;
  const encoded: Encoded[] = unique.map((row) => ({
    row,
    pairId: ids.get(row.pair)!.id,
    timestamp: row.timestamp,
    price: row.price,
    ...encodeFeedId(row.feedId),
  }));
  const keepDays = encoded.filter((e) => e.timestamp >= cutoff).map((e) => dayOf(e.timestamp));
  await ensureTickPartitions(db, keepDays);
  await db.query(LOCK_PAIRS, [[...new Set([...ids.values()].map((p) => p.id))].sort((a, b) => a - b)]);
  const stored = await findStored(db, encoded, new Set(keepDays));
  const fresh = encoded.filter((e, i) => !stored.has(i) && e.timestamp >= cutoff);
  const late = encoded.filter((e, i) => !stored.has(i) && e.timestamp < cutoff);
  await writeRows(db, fresh);
  const counted = [...fresh.map((e) => e.row), ...(await recordExpired(db, late))];
  // Rollups and tick_days in one statement (a round trip less per batch).
  const rollups = counted.length > 0 ? await rollupParams(counted) : null;
  await nextTurn(); // each pass over a big batch takes milliseconds: live ticks get the event loop between them
  const days = fresh.length > 0 ? dayParams(fresh) : null;
  if (rollups && days) await db.query(`WITH rollups AS (${UPSERT_ROLLUPS}) ${upsertDaysSql(rollups.length + 1)}`, [...rollups, ...days]);
  else if (rollups) await db.query(UPSERT_ROLLUPS, rollups);
  return counted.length;
}

/** The first row of each identity (pair, tick key): a batch may hold a tick twice. */
function firstOfEach(rows: readonly TickRow[]): TickRow[] {
  const seen = new Set<string>();
  const out: TickRow[] = [];
  for (const r of rows) {
    const key = `${r.pair}\n${r.tickKey}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

/** Attempts of insertAlone before it gives up: with its backoff, about five minutes. */
const LOCK_ATTEMPTS = 60;

/**
 * One batch in a transaction of its own. It never waits long for a lock while holding another
 * (a CSV import holds its pairs until it commits and may want one more): it gives up the wait
 * after 0.5 s, below PostgreSQL's deadlock_timeout, rolls back and tries again.
 */
async function insertAlone(pool: pg.Pool, rows: readonly TickRow[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '500ms'");
      const n = await insertTicks(client, rows);
      await client.query('COMMIT');
      return n;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      const code = (err as { code?: string }).code;
      if ((code !== '55P03' && code !== '40P01') || attempt >= LOCK_ATTEMPTS) throw err;
    } finally {
      client.release();
    }
    await new Promise((r) => setTimeout(r, backoffDelay(attempt, 50, 5000)));
  }
}

/**
 * Inserts new rows straight into their day partitions (no routing, no conflict handling: the
 * lookup under the pairs' locks already left out what is stored), sorted by pair and time so
 * each pair's index entries go in rising order and its pages fill completely.
 */
async function writeRows(client: pg.ClientBase, rows: readonly Encoded[]): Promise<void> {
  const byDay = new Map<number, Encoded[]>();
  for (const e of rows) {
    const day = dayOf(e.timestamp);
    const list = byDay.get(day);
    if (list) list.push(e);
    else byDay.set(day, [e]);
  }
  for (const [day, list] of byDay) {
    list.sort((a, b) => a.pairId - b.pairId || a.timestamp - b.timestamp);
    const table = partitionName(day);
    if (list.length >= COPY_THRESHOLD) {
      await copyRows(client, table, list);
      continue;
    }
    for (let i = 0; i < list.length; i += WRITE_SLICE) {
      const part = list.slice(i, i + WRITE_SLICE);
      await client.query(
        `INSERT INTO ${table} ("timestamp", price, pair_id, feed_num, feed_text)
         SELECT * FROM unnest($1::int8[], $2::float8[], $3::int4[], $4::int8[], $5::text[])`,
        [part.map((e) => e.timestamp), part.map((e) => e.price), part.map((e) => e.pairId), part.map((e) => e.num), part.map((e) => e.text)],
      );
    }
  }
}

/** COPY into the day partition itself: no staging table, so nothing outlives the transaction. */
async function copyRows(client: pg.ClientBase, table: string, rows: readonly Encoded[]): Promise<void> {
  // Blocks of rows (one COPY message per row would cost a system call each), the event loop
  // running between them.
  const blocks = (async function* () {
    for (let i = 0; i < rows.length; i += WRITE_SLICE) {
      if (i > 0) await nextTurn();
      let block = '';
      for (const e of rows.slice(i, i + WRITE_SLICE)) {
        block += `${e.timestamp}\t${e.price}\t${e.pairId}\t${e.num ?? '\\N'}\t${e.text === null ? '\\N' : copyText(e.text)}\n`;
      }
      yield block;
    }
  })();
  await pipeline(Readable.from(blocks), client.query(copyFrom(`COPY ${table} ("timestamp", price, pair_id, feed_num, feed_text) FROM STDIN`)));
}

/** Escapes a value for COPY's text format. */
function copyText(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Remembers ticks that arrived older than the retention; returns the ones not seen before (to count in candles). */
async function recordExpired(client: pg.ClientBase, rows: readonly Encoded[]): Promise<TickRow[]> {
  if (rows.length === 0) return [];
  const r = await client.query<{ pair_id: number; tick_key: string }>(
    `INSERT INTO expired_ticks (pair_id, tick_key) SELECT * FROM unnest($1::int4[], $2::text[])
     ON CONFLICT DO NOTHING RETURNING pair_id, tick_key`,
    [rows.map((e) => e.pairId), rows.map((e) => e.row.tickKey)],
  );
  const isNew = new Set(r.rows.map((x) => `${x.pair_id}\n${x.tick_key}`));
  return rows.filter((e) => isNew.has(`${e.pairId}\n${e.row.tickKey}`)).map((e) => e.row);
}

/** Bucket states of the rows for every rollup size, sorted by (pair, size, bucket); the event loop runs between pairs. */
async function rollupRows(rows: readonly TickRow[]): Promise<{ pair: string; size: number; state: CandleState }[]> {
  const byPair = new Map<string, CandleTick[]>();
  for (const r of rows) {
    const list = byPair.get(r.pair) ?? [];
    list.push({ price: r.price, timestamp: r.timestamp, key: r.tickKey });
    byPair.set(r.pair, list);
  }
  const out: { pair: string; size: number; state: CandleState }[] = [];
  for (const pair of [...byPair.keys()].sort()) {
    await nextTurn();
    for (const { size, tf } of ROLLUPS) for (const state of aggregateStates(byPair.get(pair)!, tf)) out.push({ pair, size, state });
  }
  return out;
}

/** The parameters of UPSERT_ROLLUPS for these rows. */
async function rollupParams(rows: readonly TickRow[]): Promise<unknown[]> {
  const buckets = await rollupRows(rows);
  return [
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
  ];
}

interface DaySummary {
  pairId: number;
  day: number;
  ticks: number;
  first: number;
  last: number;
  numLo: string | null;
  numHi: string | null;
  textLo: string | null;
  textHi: string | null;
}

/** Count, time span and id ranges of the new rows per (pair, day): the parameters of upsertDaysSql. */
function dayParams(rows: readonly Encoded[]): unknown[] {
  const days = new Map<string, DaySummary>();
  const before = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;
  for (const e of rows) {
    const day = dayOf(e.timestamp);
    const key = `${e.pairId}|${day}`;
    let s = days.get(key);
    if (!s) {
      s = { pairId: e.pairId, day, ticks: 0, first: e.timestamp, last: e.timestamp, numLo: null, numHi: null, textLo: null, textHi: null };
      days.set(key, s);
    }
    s.ticks++;
    if (e.timestamp < s.first) s.first = e.timestamp;
    if (e.timestamp > s.last) s.last = e.timestamp;
    if (e.num !== null) {
      if (s.numLo === null || compareCanonicalIntegers(e.num, s.numLo) < 0) s.numLo = e.num;
      if (s.numHi === null || compareCanonicalIntegers(e.num, s.numHi) > 0) s.numHi = e.num;
    } else if (e.text !== null) {
      if (s.textLo === null || before(e.text, s.textLo)) s.textLo = e.text;
      if (s.textHi === null || before(s.textHi, e.text)) s.textHi = e.text;
    }
  }
  // Sorted by key, so two writers touching the same rows lock them in the same order.
  const list = [...days.values()].sort((a, b) => a.pairId - b.pairId || a.day - b.day);
  return [
    list.map((s) => s.pairId),
    list.map((s) => s.day),
    list.map((s) => s.ticks),
    list.map((s) => s.first),
    list.map((s) => s.last),
    list.map((s) => s.numLo),
    list.map((s) => s.numHi),
    list.map((s) => s.textLo),
    list.map((s) => s.textHi),
  ];
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
 * large the range. `from` / `to` are inclusive epoch ms; given, they limit the day partitions read.
 * Through a pooler in transaction mode, call it inside a transaction.
 */
export function streamTicks(client: pg.ClientBase, pair: string, from: number | null, to: number | null): AsyncIterable<StoredTick> {
  const params: unknown[] = [pair];
  const where = ['t.pair_id = (SELECT id FROM tick_pairs WHERE pair = $1)'];
  if (from !== null) where.push(`t."timestamp" >= $${params.push(from)}`);
  if (to !== null) where.push(`t."timestamp" <= $${params.push(to)}`);
  const query = new QueryStream(
    `SELECT t.price, t."timestamp", COALESCE(t.feed_num::text, t.feed_text) AS feed_id FROM ticks t
     WHERE ${where.join(' AND ')}
     ORDER BY t."timestamp", t.price, COALESCE(t.feed_num::text, t.feed_text) COLLATE "C" NULLS FIRST`,
    params,
    { batchSize: 5000 },
  );
  const stream = client.query(query);
  return (async function* () {
    for await (const row of stream as AsyncIterable<{ price: number; timestamp: string; feed_id: string | null }>) {
      yield { pair, price: row.price, timestamp: asEpochMs(Number(row.timestamp)), id: row.feed_id };
    }
  })();
}
