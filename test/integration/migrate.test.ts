import { afterEach, expect, test } from 'vitest';
import { migrate, migrationFiles } from '../../src/db/migrate.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { asEpochMs } from '../../src/core/units.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';

const log = createLogger('silent');
let db: TestSchema | null = null;
afterEach(async () => {
  await db?.drop();
  db = null;
});

test('two processes migrating at once apply each migration exactly once', async () => {
  db = await createTestSchema();
  const all = await migrationFiles();
  expect(all.slice(0, 2)).toEqual(['001_historical_ticks.sql', '002_compact_ticks.sql']);
  const results = await Promise.all([migrate(db.pool, log), migrate(db.pool, log), migrate(db.pool, log)]);
  expect(results.flat().sort()).toEqual(all);
  expect(await migrate(db.pool, log)).toEqual([]);
  const versions = (await db.pool.query('SELECT version FROM schema_migrations ORDER BY 1')).rows.map((r) => r.version);
  expect(versions).toEqual(all);
});

test('the schema keeps the contract columns, one range index per partition, and RLS on every table', async () => {
  db = await createTestSchema();
  await migrate(db.pool, log);
  const columns = (
    await db.pool.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'historical_ticks' AND column_name IN ('pair', 'price', 'timestamp') ORDER BY column_name`,
      [db.schema],
    )
  ).rows;
  expect(columns).toEqual([
    { column_name: 'pair', data_type: 'character varying' },
    { column_name: 'price', data_type: 'double precision' },
    { column_name: 'timestamp', data_type: 'bigint' },
  ]);
  const tick = { pair: 'A', price: 1, timestamp: asEpochMs(Date.UTC(2024, 10, 22)) };
  expect(await insertTicks(db.pool, [toRow(tick)])).toBe(1);
  expect(await insertTicks(db.pool, [toRow(tick)])).toBe(0);
  const indexes = (await db.pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'ticks_20241122' ORDER BY 1`, [db.schema])).rows.map(
    (r) => r.indexname,
  );
  expect(indexes).toEqual(['ticks_20241122_pair_id_coalesce_idx', 'ticks_20241122_pair_id_timestamp_idx']);
  const unsecured = (
    await db.pool.query(`SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p') AND NOT relrowsecurity ORDER BY 1`, [db.schema])
  ).rows;
  expect(unsecured).toEqual([]);
});

test('the alerts table stands alone, with RLS, and keeps a fired alert whole', async () => {
  db = await createTestSchema();
  await migrate(db.pool, log);
  const rls = (await db.pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = $1::regclass`, [`${db.schema}.alerts`])).rows[0];
  expect(rls).toEqual({ relrowsecurity: true });
  const refs = (await db.pool.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'`, [`${db.schema}.alerts`])).rows[0];
  expect(refs).toEqual({ n: 0 });
  const insert = (values: string) =>
    db!.pool.query(`INSERT INTO alerts (pair, condition, price, created_at, triggered_at, trigger_price, trigger_timestamp) VALUES ${values}`).then(
      () => 'ok',
      (err: { code: string }) => err.code,
    );
  expect(await insert(`('A', 'above', 1, now(), NULL, NULL, NULL)`)).toBe('ok');
  expect(await insert(`('A', 'above', 1, now(), now(), 1.1, 5)`)).toBe('ok');
  expect(await insert(`('A', 'above', 1, now(), now(), NULL, NULL)`)).toBe('23514'); // half a trigger
  expect(await insert(`('A', 'sideways', 1, now(), NULL, NULL, NULL)`)).toBe('23514');
  expect(await insert(`('A', 'below', 0, now(), NULL, NULL, NULL)`)).toBe('23514');
});
