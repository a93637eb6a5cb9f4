import { describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { storedKeys } from '../../src/db/candle-repository.js';
import { migrate } from '../../src/db/migrate.js';
import { DAY_MS, dayOf } from '../../src/db/tick-partitions.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { runCli } from '../helpers/cli.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();

async function schema(): Promise<TestSchema> {
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  await migrate(db.pool, log);
  return db;
}

const T0 = Date.UTC(2024, 10, 22, 10);
const tick = (pair: string, price: number, dt: number, id?: string | number): Tick => ({
  pair,
  price,
  timestamp: asEpochMs(T0 + dt),
  ...(id === undefined ? {} : { id }),
});
const insert = (db: TestSchema, ticks: Tick[]) => insertTicks(db.pool, ticks.map((t) => toRow(t)));
const stored = async (db: TestSchema) =>
  (await db.pool.query(`SELECT pair, price, "timestamp"::float8 AS ts, feed_id FROM historical_ticks ORDER BY pair, "timestamp", price, feed_id COLLATE "C"`)).rows;
const volume = async (db: TestSchema) => Number((await db.pool.query('SELECT sum(volume) AS v FROM tick_rollups WHERE size = 3600')).rows[0].v);

describe('tick identity in compact storage', () => {
  test('(pair, id) where the feed gives an id, else (pair, timestamp, price), across days and kinds of id', async () => {
    const db = await schema();
    expect(
      await insert(db, [
        tick('EUR/USD_otc', 1.5, 0), // no id ...
        tick('EUR/USD_otc', 1.5, 0, 7), // ... an id at the same time and price: another tick
        tick('EUR/USD_otc', 1.5, 0, '007'), // not the id 7
        tick('EUR/USD_otc', 1.5, 1, 'T-1'),
        tick('EUR/USD_otc', 1.5, 2, '9223372036854775808'), // beyond BIGINT: stored as text
        tick('GBP/USD_otc', 1.5, 0, 7), // the same id, another pair
        tick('EUR/USD_otc', 1.6, 3),
        tick('EUR/USD_otc', 1.6, 3), // twice in one batch: once
      ]),
    ).toBe(7);
    // Sent again with another time (another day's partition) or price: the same ticks, stored already.
    expect(
      await insert(db, [
        tick('EUR/USD_otc', 1.9, DAY_MS, '7'), // "7" and 7 are one id
        tick('EUR/USD_otc', 1.9, 2 * DAY_MS, 'T-1'),
        tick('EUR/USD_otc', 2.1, -DAY_MS, '007'),
        tick('EUR/USD_otc', 2.1, 3 * DAY_MS, '9223372036854775808'),
        tick('EUR/USD_otc', 1.5, 0),
        tick('EUR/USD_otc', 1.6, 3),
      ]),
    ).toBe(0);
    // Same time, another price: another tick.
    expect(await insert(db, [tick('EUR/USD_otc', 1.50001, 0)])).toBe(1);
    expect(await stored(db)).toEqual([
      { pair: 'EUR/USD_otc', price: 1.5, ts: T0, feed_id: '007' },
      { pair: 'EUR/USD_otc', price: 1.5, ts: T0, feed_id: '7' },
      { pair: 'EUR/USD_otc', price: 1.5, ts: T0, feed_id: null },
      { pair: 'EUR/USD_otc', price: 1.50001, ts: T0, feed_id: null },
      { pair: 'EUR/USD_otc', price: 1.5, ts: T0 + 1, feed_id: 'T-1' },
      { pair: 'EUR/USD_otc', price: 1.5, ts: T0 + 2, feed_id: '9223372036854775808' },
      { pair: 'EUR/USD_otc', price: 1.6, ts: T0 + 3, feed_id: null },
      { pair: 'GBP/USD_otc', price: 1.5, ts: T0, feed_id: '7' },
    ]);
    expect(await volume(db)).toBe(8);
    expect(await storedKeys(db.pool, 'EUR/USD_otc', ['i:7', 'i:007', 'i:8', 't:' + T0 + ':1.5', 't:' + T0 + ':1.7', 'i:T-1', 'i:T-2'])).toEqual(
      new Set(['i:7', 'i:007', 't:' + T0 + ':1.5', 'i:T-1']),
    );
  });

  test('ids are looked up in ranges, then compared in full: a stored neighbour is not the id', async () => {
    const db = await schema();
    const ids = Array.from({ length: 300 }, (_, i) => 1000 + i * 2).filter((id) => id !== 1200);
    expect(await insert(db, ids.map((id, i) => tick('EUR/USD_otc', 1.1, i * 100, id)))).toBe(299);
    // Between stored ids, and 1200 (in the middle of the range), on a later day: new. 1202: stored.
    const later = [1001, 1200, 1599, 1202].map((id, i) => tick('EUR/USD_otc', 1.2, DAY_MS + i, id));
    expect(await insert(db, later)).toBe(3);
    const texts = Array.from({ length: 50 }, (_, i) => `id-${String(i).padStart(3, '0')}`);
    expect(await insert(db, texts.map((id, i) => tick('GBP/USD_otc', 1.3, i, id)))).toBe(50);
    expect(await insert(db, ['id-010', 'id-010 ', 'id-0105', 'ID-010'].map((id, i) => tick('GBP/USD_otc', 1.4, 2 * DAY_MS + i, id)))).toBe(3);
  });

  test('two writers at once: the second waits for the first pair lock and stores nothing twice', async () => {
    const db = await schema();
    const batch = [
      ...Array.from({ length: 500 }, (_, i) => tick('EUR/USD_otc', 1 + i / 1e5, i * 10)),
      ...Array.from({ length: 500 }, (_, i) => tick('EUR/USD_otc', 1, i * 10, 50_000 + i)),
    ];
    // The same ids again with other times (a feed resending), as the second writer gets them.
    const resent = [...batch.slice(0, 500), ...batch.slice(500).map((t) => ({ ...t, timestamp: asEpochMs(t.timestamp + DAY_MS) }))];
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    cleanups.push(() => a.release(), () => b.release());
    await a.query('BEGIN');
    await b.query('BEGIN');
    expect(await insertTicks(a, batch.map((t) => toRow(t)))).toBe(1000);
    let bDone = false;
    const second = insertTicks(b, resent.map((t) => toRow(t))).then((n) => {
      bDone = true;
      return n;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(bDone).toBe(false); // waiting for the pair's lock
    await a.query('COMMIT');
    expect(await second).toBe(0);
    await b.query('COMMIT');
    expect(await db.count()).toBe(1000);
    expect(await volume(db)).toBe(1000);
  });
});

describe('a long import and a writer of single batches', () => {
  test('the batch writer gives way instead of deadlocking with an import that holds its pairs', async () => {
    const db = await schema();
    await insert(db, [tick('EUR/USD_otc', 1, -5000), tick('GBP/USD_otc', 1, -5000)]); // EUR/USD_otc: the lower pair id
    const importer = await db.pool.connect();
    cleanups.push(() => importer.release());
    await importer.query('BEGIN');
    expect(await insertTicks(importer, [toRow(tick('GBP/USD_otc', 2, 0))])).toBe(1);
    // One batch of both pairs through the pool: it takes EUR/USD_otc, then waits for GBP/USD_otc.
    const batch = insert(db, [tick('EUR/USD_otc', 3, 10), tick('GBP/USD_otc', 3, 10)]);
    await new Promise((r) => setTimeout(r, 2500)); // past deadlock_timeout
    // The import now wants EUR/USD_otc too: it gets it, and is not cancelled as a deadlock.
    expect(await insertTicks(importer, [toRow(tick('EUR/USD_otc', 2, 0))])).toBe(1);
    await importer.query('COMMIT');
    expect(await batch).toBe(2);
    expect(await db.count()).toBe(6);
  });
});

describe('compact storage and db stats', () => {
  test('a mix of ticks with and without ids costs at most 125 bytes each on disk; db stats reports it', async () => {
    const db = await schema();
    // The last 10 minutes of yesterday: 5 pairs, 12 ms apart in turn (a pair every 60 ms, as
    // 1,000 a minute), half with integer ids.
    const start = dayOf(Date.now()) * DAY_MS - 50_000 * 12;
    const ticks = Array.from({ length: 50_000 }, (_, i) => ({
      pair: `P${i % 5}/X`,
      price: Number((1.1 + Math.sin(i / 50) / 100).toFixed(5)),
      timestamp: asEpochMs(start + i * 12),
      ...(i % 2 === 0 ? { id: 10_000_000 + i } : {}),
    }));
    for (let i = 0; i < ticks.length; i += 5000) await insert(db, ticks.slice(i, i + 5000));
    await db.pool.query('VACUUM');
    const r = await db.pool.query(
      `SELECT ((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'ticks'::regclass)
              + pg_total_relation_size('tick_pairs') + pg_total_relation_size('tick_days'))::float8 / count(*) AS bytes FROM ticks`,
    );
    expect(r.rows[0].bytes).toBeLessThanOrEqual(125);

    const json = await runCli(['db', 'stats', '--json', '--limit', '1TB'], { DATABASE_URL: db.url });
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout);
    expect(s).toMatchObject({ ticks: 50_000, partitions: 1, oldest: start, newest: start + 49_999 * 12, limitBytes: 1e12, retentionDays: null });
    expect(s.bytesPerTick).toBeCloseTo(r.rows[0].bytes, 0);
    // 50,000 ticks from the first of them to midnight, 10 minutes: 7.2M a day.
    expect(s.ticksPerDay).toBeCloseTo(7_200_000, -3);
    expect(s.daysUntilLimit).toBeCloseTo((1e12 - s.databaseBytes) / (s.ticksPerDay * s.bytesPerTick), 3);

    // (The test database is shared: its size is not this test's, so the limit is far above it.)
    const text = await runCli(['db', 'stats', '--limit', '1TB'], { DATABASE_URL: db.url });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ticks stored +50,000 in 1 day partition$/m);
    expect(text.stdout).toMatch(/^bytes per tick +\d+\.\d \(/m);
    expect(text.stdout).toMatch(/^ticks per day +7,2\d\d,\d{3} /m);
    expect(text.stdout).toMatch(/^until 1\.0 TB +\d+\.\d days at the current rate$/m);
    expect(await runCli(['db', 'stats', '--limit', 'lots'], { DATABASE_URL: db.url })).toMatchObject({ code: 2, stderr: expect.stringMatching(/--limit "lots"/) });
  }, 90_000);
});

describe('day partitions', () => {
  test('two writers creating the same day at once both succeed, and the day is made once', async () => {
    const db = await schema();
    const day = dayOf(T0) + 30;
    const [a, b] = [await db.pool.connect(), await db.pool.connect()];
    cleanups.push(() => {
      a.release();
      b.release();
    });
    await a.query('BEGIN');
    await b.query('BEGIN');
    // Both look before either creates: the first creates and holds the lock; the second waits on it.
    expect((await a.query('SELECT quflx_tick_partition($1) AS name', [day])).rows[0].name).toMatch(/^ticks_\d{8}$/);
    const second = b.query('SELECT quflx_tick_partition($1) AS name', [day]);
    await new Promise((r) => setTimeout(r, 200));
    await a.query('COMMIT');
    const name = (await second).rows[0].name as string;
    await b.query('COMMIT');
    const parts = await db.pool.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'ticks'::regclass AND c.relname = $1`,
      [name],
    );
    expect(parts.rowCount).toBe(1);
  });
});
