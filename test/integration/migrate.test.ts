import { afterEach, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
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
  const results = await Promise.all([migrate(db.pool, log), migrate(db.pool, log), migrate(db.pool, log)]);
  expect(results.flat().sort()).toEqual(['001_historical_ticks.sql', '003_alerts.sql']);
  expect(await migrate(db.pool, log)).toEqual([]);
  const versions = (await db.pool.query('SELECT version FROM schema_migrations ORDER BY 1')).rows;
  expect(versions).toEqual([{ version: '001_historical_ticks.sql' }, { version: '003_alerts.sql' }]);
});

test('the schema keeps the contract columns, the identity key, the time index and RLS', async () => {
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
  const indexes = (await db.pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'historical_ticks' ORDER BY 1`, [db.schema])).rows.map((r) => r.indexname);
  expect(indexes).toEqual(['historical_ticks_identity', 'historical_ticks_pair_time']);
  const rls = (await db.pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = $1::regclass`, [`${db.schema}.historical_ticks`])).rows[0];
  expect(rls).toEqual({ relrowsecurity: true });
  // A second insert of the same identity is a no-op.
  const insert = `INSERT INTO historical_ticks (pair, price, "timestamp", tick_key) VALUES ('A', 1, 1, 't:1:1') ON CONFLICT DO NOTHING`;
  expect((await db.pool.query(insert)).rowCount).toBe(1);
  expect((await db.pool.query(insert)).rowCount).toBe(0);
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
