import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createClient } from 'redis';
import type { SeqTick } from '../src/core/tick.js';
import { insertTicks, toRow, type TickRow } from '../src/db/tick-repository.js';
import type { BenchPersister } from './bench-persister.js';
import { sleep } from './spans.js';

export interface PersistBacklogResult {
  rows: number;
  wallMs: number;
  rowsPerS: number;
  /** Rows of the run found in historical_ticks afterwards (should be `rows`). */
  stored: number;
  /** Entries left in the persist queue after the run (should be 0: acknowledged and trimmed). */
  queueLeft: number;
  /** ms of the run's wall time spent in each kind of call (see BenchPersister). */
  breakdownMs: Record<string, number>;
  /** The longest single call of each kind, ms. */
  slowestMs: Record<string, number>;
  /** Batches written (transactions). */
  batches: number;
  /** JSON.parse + toRow per queue entry, µs, measured on a sample of the backlog. */
  parseUsPerRow: number;
}

/** Rows in historical_ticks. */
export async function countTicks(db: pg.Pool | pg.ClientBase): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM historical_ticks')).rows[0]!.n;
}

/** JSON.parse + toRow of queue entries as the persister does it, in µs per tick (an entry holds an array of ticks). */
async function parseCost(redisUrl: string, queueKey: string): Promise<number> {
  const client = createClient({ url: redisUrl, RESP: 2 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const entries = await client.xRange(queueKey, '-', '+', { COUNT: 10_000 });
    const raw = (entries ?? []).map((e) => (e.message as Record<string, string>).t ?? '');
    let sink = 0;
    let ticks = 0;
    const parse = (r: string) => {
      const parsed = JSON.parse(r) as SeqTick | SeqTick[];
      for (const t of Array.isArray(parsed) ? parsed : [parsed]) {
        sink += toRow(t).price;
        ticks++;
      }
    };
    for (let round = 0; round < 2; round++) for (const r of raw) parse(r); // warm-up
    ticks = 0;
    const t0 = performance.now();
    for (let round = 0; round < 5; round++) for (const r of raw) parse(r);
    const us = ((performance.now() - t0) * 1000) / Math.max(1, ticks);
    return sink > 0 ? us : us;
  } finally {
    await client.close();
  }
}

/**
 * The persister's sustained rate on a backlog: `expected` ticks wait in the persist queue (accepted
 * while no persister ran); `bench` starts and the clock runs until it has stored them all (its own
 * row counter, checked against the table afterwards).
 */
export async function measurePersistBacklog(
  bench: BenchPersister,
  options: { redisUrl: string; queueKey: string; expected: number; rowsBefore: number; timeoutMs: number },
): Promise<PersistBacklogResult> {
  const parseUsPerRow = await parseCost(options.redisUrl, options.queueKey);
  bench.resetSpans();
  const t0 = performance.now();
  bench.start();
  while (bench.rowsWritten < options.expected && performance.now() - t0 < options.timeoutMs) await sleep(2);
  const wallMs = performance.now() - t0;
  const spans = Object.fromEntries(Object.entries(bench.spans).map(([k, s]) => [k, Math.round(s.totalMs)]));
  const slowestMs = Object.fromEntries(Object.entries(bench.spans).map(([k, s]) => [k, Math.round(s.maxMs * 10) / 10]));
  const batches = bench.spans.commit.calls;
  const stored = (await countTicks(bench.pool)) - options.rowsBefore;
  // The last batch's XACK and trim follow its COMMIT; give them a moment.
  let queueLeft = Number.NaN;
  for (let i = 0; i < 100; i++) {
    queueLeft = await bench.redis.xLen(options.queueKey);
    if (queueLeft === 0) break;
    await sleep(20);
  }
  const accounted = Object.values(spans).reduce((a, b) => a + b, 0);
  return {
    rows: bench.rowsWritten,
    wallMs,
    rowsPerS: bench.rowsWritten / (wallMs / 1000),
    stored,
    queueLeft,
    batches,
    parseUsPerRow,
    breakdownMs: { ...spans, other: Math.max(0, Math.round(wallMs - accounted)) },
    slowestMs,
  };
}

export interface InsertRunResult {
  rows: number;
  batch: number;
  wallMs: number;
  rowsPerS: number;
  /** Mean ms per batch (one transaction). */
  batchMs: number;
}

export interface InsertResults {
  /** insertTicks, batches of 5000 (the unnest statement with its rollup CTE). */
  unnest: InsertRunResult;
  /** insertTicks, batches of 50,000 (COPY into the day partition). */
  copy: InsertRunResult;
  /** The rows alone into ticks (bench-only SQL: no identity lookup, locks or rollups): what those cost. */
  plain: InsertRunResult;
  /** insertTicks, batches of 5000, two connections writing at once (what a second writer would give). */
  twoWriters: InsertRunResult;
}

const PLAIN_INSERT = `
  INSERT INTO ticks ("timestamp", price, pair_id, feed_num)
  SELECT u.ts, u.price, p.id, u.num FROM unnest($1::varchar[], $2::float8[], $3::int8[], $4::int8[]) AS u(pair, price, ts, num)
  JOIN tick_pairs p USING (pair)`;

/**
 * Rows as the persister would get them from a live stream of several pairs: ids unique, ticks
 * 1 ms apart over `pairs` round robin, starting at `fromMs`.
 */
export function makeRows(pairs: readonly string[], n: number, firstId: number, fromMs: number): TickRow[] {
  const rows: TickRow[] = new Array(n);
  let price = 1.1;
  for (let i = 0; i < n; i++) {
    price = Math.max(0.0001, price * (1 + (Math.random() - 0.5) * 1e-4));
    const pair = pairs[i % pairs.length]!;
    rows[i] = toRow({ pair, price: Math.round(price * 1e5) / 1e5, timestamp: fromMs + i, id: firstId + i, seq: firstId + i } as SeqTick);
  }
  return rows;
}

/** Writes `rows` in transactions of `batch` rows, taken in order by each of `clients` in turn as it is free. */
async function timedBatches(
  clients: pg.ClientBase[],
  rows: TickRow[],
  batch: number,
  write: (client: pg.ClientBase, b: TickRow[]) => Promise<unknown>,
): Promise<InsertRunResult> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = next; i < rows.length; i = next) {
        next += batch;
        await client.query('BEGIN');
        try {
          await write(client, rows.slice(i, i + batch));
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const batches = Math.ceil(rows.length / batch);
  return { rows: rows.length, batch, wallMs, rowsPerS: rows.length / (wallMs / 1000), batchMs: (wallMs * clients.length) / batches };
}

/**
 * insertTicks alone, one transaction per batch as the persister writes them, on one connection:
 * `unnestRows` in batches of 5000, the same again on two connections at once, `copyRows` in
 * batches of 50,000 (COPY path), and for comparison `unnestRows` more through the same INSERT
 * without the rollup CTE. Pairs of its own; ticks 1 ms apart, 5 pairs round robin.
 */
export async function measureInsertTicks(
  databaseUrl: string,
  options: { unnestRows: number; copyRows: number; firstId: number },
): Promise<InsertResults> {
  const client = new pg.Client({ connectionString: databaseUrl });
  const second = new pg.Client({ connectionString: databaseUrl });
  await Promise.all([client.connect(), second.connect()]);
  try {
    const pairs = ['INSA/X_otc', 'INSB/X_otc', 'INSC/X_otc', 'INSD/X_otc', 'INSE/X_otc'];
    const start = Date.now() - 3_600_000;
    let id = options.firstId;
    let from = start;
    const rowsFor = (n: number, ps = pairs) => {
      const rows = makeRows(ps, n, id, from);
      id += n;
      from += n;
      return rows;
    };
    const viaInsertTicks = (c: pg.ClientBase, b: TickRow[]) => insertTicks(c, b);
    // Warm-up (plans, caches) on both connections: not timed.
    await timedBatches([client, second], rowsFor(20_000), 5000, viaInsertTicks);
    const unnest = await timedBatches([client], rowsFor(options.unnestRows), 5000, viaInsertTicks);
    const twoWriters = await timedBatches([client, second], rowsFor(options.unnestRows), 5000, viaInsertTicks);
    const copy = await timedBatches([client], rowsFor(options.copyRows), 50_000, viaInsertTicks);
    const plainRows = rowsFor(options.unnestRows, pairs.map((p) => p.replace('/X', '/P')));
    await insertTicks(client, plainRows.slice(0, pairs.length)); // its pairs and day partitions
    const plain = await timedBatches([client], plainRows.slice(pairs.length), 5000, (c, b) =>
      c.query(PLAIN_INSERT, [b.map((r) => r.pair), b.map((r) => r.price), b.map((r) => r.timestamp), b.map((r) => r.feedId)]),
    );
    return { unnest, copy, plain, twoWriters };
  } finally {
    await Promise.all([client.end(), second.end()]);
  }
}
