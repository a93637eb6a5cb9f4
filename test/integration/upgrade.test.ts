import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { asEpochMs } from '../../src/core/units.js';
import { migrate } from '../../src/db/migrate.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { pooledDatabase, startAppOn } from '../helpers/pgbouncer.js';
import { restoreDump } from '../helpers/sql-dump.js';
import { getJson, postTicks, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

type Row = { pair: string; price: number; timestamp: string; feed_id: string | null };
const ORDER = 'ORDER BY pair, "timestamp", price, feed_id COLLATE "C"';

test('a database written by the schema-001 release upgrades in place: every tick once, resending adds nothing', async () => {
  const pooled = await pooledDatabase();
  cleanups.push(pooled.close);
  // The release's database, restored as it was (schema 001 applied, ticks with and without ids).
  const client = await pooled.direct.connect();
  try {
    await restoreDump(client, await readFile(new URL('../fixtures/db-001.sql', import.meta.url), 'utf8'));
  } finally {
    client.release();
  }
  const old = (await pooled.direct.query<Row>(`SELECT pair, price, "timestamp", feed_id FROM historical_ticks ${ORDER}`)).rows;
  const rollups = async () => (await pooled.direct.query('SELECT * FROM tick_rollups ORDER BY pair, size, bucket')).rows;
  const oldRollups = await rollups();
  expect(old).toHaveLength(3810);
  expect(old.filter((r) => r.feed_id !== null).length).toBeGreaterThan(2000);
  expect(old.filter((r) => r.feed_id === null).length).toBeGreaterThan(900);

  // Migrated through the pooler, with its progress in the log.
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const pool = new pg.Pool({ connectionString: pooled.url, max: 2 });
  cleanups.push(() => pool.end());
  // Every migration after 001: the compaction first, then whatever came later.
  expect((await migrate(pool, log))[0]).toBe('002_compact_ticks.sql');
  const messages = lines.map((l) => JSON.parse(l).msg as string);
  expect(messages).toEqual(
    expect.arrayContaining([
      'compact ticks: moving 3810 ticks from historical_ticks (version 1)',
      expect.stringMatching(/^compact ticks: moved all 3810 ticks in [\d.]+ s$/),
      'database migration applied',
    ]),
  );

  // Nothing lost, nothing doubled: the same rows, read through the view readers use.
  const migrated = (await pooled.direct.query<Row>(`SELECT pair, price, "timestamp", feed_id FROM historical_ticks ${ORDER}`)).rows;
  expect(migrated).toEqual(old);
  expect(await rollups()).toEqual(oldRollups);
  expect(await pooled.count('SELECT count(*)::int AS n FROM rejected_ticks')).toBe(1);
  expect(await pooled.count('SELECT sum(ticks)::int AS n FROM tick_days')).toBe(3810);
  const pairs = (await pooled.direct.query('SELECT pair, symbol FROM tick_pairs ORDER BY pair')).rows;
  expect(pairs).toEqual([
    { pair: 'AUD/CAD_otc', symbol: 'AUDCAD_otc' },
    { pair: 'EUR/USD_otc', symbol: 'EURUSD_otc' },
    { pair: 'GBP/USD_otc', symbol: 'GBPUSD_otc' },
    { pair: 'USD/JPY_otc', symbol: 'USDJPY_otc' },
  ]);
  const days = (await pooled.direct.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'ticks'::regclass ORDER BY 1`)).rows;
  // From 23:58 on 2024-11-20 to 00:02 on 2024-11-23: four UTC days.
  expect(days.map((d) => d.relname)).toEqual(['ticks_20241120', 'ticks_20241121', 'ticks_20241122', 'ticks_20241123']);

  // Sent again, all of them: once straight to insertTicks, once through QuFLX (Redis, the persister).
  const ticks = old.map((r) => ({ pair: r.pair, price: r.price, timestamp: asEpochMs(Number(r.timestamp)), ...(r.feed_id === null ? {} : { id: r.feed_id }) }));
  expect(await insertTicks(pool, ticks.map((t) => toRow(t)))).toBe(0);
  const { app, close } = await startAppOn(pooled.url);
  cleanups.push(close);
  expect((await postTicks(app.url, ticks)).body).toEqual({ accepted: 3810, duplicates: 0 });
  await waitFor(async () => (await getJson(`${app.url}/health`)).persistence.pending === 0, 30_000, 'resent ticks written');
  expect((await pooled.direct.query<Row>(`SELECT pair, price, "timestamp", feed_id FROM historical_ticks ${ORDER}`)).rows).toEqual(old);
  expect(await rollups()).toEqual(oldRollups);
}, 120_000);
