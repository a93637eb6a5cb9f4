import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { migrate, pasteableSchema } from '../../src/db/migrate.js';
import { DAY_MS, dayOf } from '../../src/db/tick-partitions.js';
import { insertRejected, insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase } from '../helpers/pgbouncer.js';
import { TEST_DATABASE_URL } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();

const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
/** Tables the API roles may read (ticks through its parent and the view; candles). */
const READABLE = ['tick_pairs', 'ticks', 'tick_days', 'tick_rollups', 'historical_ticks'];
/** QuFLX's own bookkeeping: no API role reads or writes it. */
const INTERNAL = ['rejected_ticks', 'expired_ticks', 'quflx_settings', 'schema_migrations', 'alerts'];

/**
 * Supabase's roles, made as Supabase has them where missing (roles are cluster-wide on the shared
 * server: never dropped), and its grants inside one database: usage of public, and every privilege
 * on whatever the owner creates later (default privileges are per database, so they end with it).
 */
async function supabaseLike(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    for (const [role, extra] of [['anon', ''], ['authenticated', ''], ['service_role', ' BYPASSRLS']] as const) {
      await admin.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} NOLOGIN NOINHERIT${extra}; END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- another test made it meanwhile
      END $$`);
    }
  } finally {
    await admin.end();
  }
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(`GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role`);
  } finally {
    await db.end();
  }
}

/** Runs `sql` as `role` and rolls back: the SQLSTATE it failed with, or 'ok' and the rows. */
async function as(client: pg.ClientBase, role: string, sql: string): Promise<{ code: string; rows: Record<string, unknown>[] }> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${role}`);
    const r = await client.query(sql);
    return { code: 'ok', rows: r.rows };
  } catch (err) {
    return { code: String((err as { code?: string }).code), rows: [] };
  } finally {
    await client.query('ROLLBACK');
  }
}

const tick = (pair: string, day: number, i: number, id?: number): Tick => ({
  pair,
  price: 1 + i / 1000,
  timestamp: asEpochMs(day * DAY_MS + 3_600_000 + i * 1000),
  ...(id === undefined ? {} : { id }),
});

describe.each(['QuFLX migrations', 'the pasted schema file'])("Supabase's roles and RLS, schema made by %s", (how) => {
  test('every QuFLX table is readable by the API roles where it makes sense, and writable only by QuFLX', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    await supabaseLike(db.url);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    cleanups.push(() => pool.end());
    if (how === 'QuFLX migrations') await migrate(pool, log);
    else {
      const file = await readFile(new URL('../../src/db/supabase-schema.sql', import.meta.url), 'utf8');
      expect(file).toBe(await pasteableSchema()); // the checked-in file is what the migrations make
      await pool.query(file);
      expect(await migrate(pool, log)).toEqual([]); // QuFLX sees every migration applied
    }

    // QuFLX's own connection writes; a day partition made now gets the roles' default privileges.
    const today = dayOf(Date.now());
    const rows = [...Array.from({ length: 5 }, (_, i) => tick('EUR/USD_otc', today, i)), ...Array.from({ length: 5 }, (_, i) => tick('EUR/USD_otc', today - 1, i, 100 + i))];
    expect(await insertTicks(pool, rows.map((t) => toRow(t)))).toBe(10);
    await insertRejected(pool, 'not json', 'a test row');

    const tables = (
      await pool.query<{ name: string; kind: string; rls: boolean; policies: string[]; col: string }>(
        `SELECT c.relname AS name, c.relkind AS kind, c.relrowsecurity AS rls,
                (SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum DESC LIMIT 1) AS col,
                ARRAY(SELECT polname FROM pg_policy WHERE polrelid = c.oid ORDER BY 1)::text[] AS policies
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v') ORDER BY 1`,
      )
    ).rows;
    const partitions = tables.filter((t) => /^ticks_\d{8}$/.test(t.name)).map((t) => t.name);
    expect(partitions).toHaveLength(2);
    expect(tables.map((t) => t.name).sort()).toEqual([...READABLE, ...INTERNAL, ...partitions].sort());
    for (const t of tables) if (t.kind !== 'v') expect({ table: t.name, rls: t.rls }).toEqual({ table: t.name, rls: true });
    for (const name of READABLE.filter((n) => n !== 'historical_ticks')) {
      expect(tables.find((t) => t.name === name)!.policies).toEqual([`${name}_read`]);
    }

    const client = await pool.connect();
    cleanups.push(() => client.release());
    for (const role of API_ROLES) {
      // Reads: ticks through the view and the parent table, candles, pairs.
      expect(await as(client, role, 'SELECT count(*)::int AS n FROM historical_ticks')).toEqual({ code: 'ok', rows: [{ n: 10 }] });
      expect(await as(client, role, `SELECT feed_id FROM historical_ticks WHERE pair = 'EUR/USD_otc' AND feed_id IS NOT NULL ORDER BY "timestamp" LIMIT 1`)).toEqual({
        code: 'ok',
        rows: [{ feed_id: '100' }],
      });
      for (const name of ['ticks', 'tick_rollups', 'tick_pairs', 'tick_days']) {
        const r = await as(client, role, `SELECT count(*)::int AS n FROM ${name}`);
        expect({ role, name, code: r.code, some: (r.rows[0]?.n as number) > 0 }).toEqual({ role, name, code: 'ok', some: true });
      }
      // QuFLX's bookkeeping and the partitions themselves: no access at all.
      for (const name of [...INTERNAL, ...partitions]) {
        expect({ role, name, code: (await as(client, role, `SELECT 1 FROM ${name} LIMIT 1`)).code }).toEqual({ role, name, code: '42501' });
      }
      // No writes anywhere (service_role bypasses RLS, so privileges must stop it too).
      for (const { name, col, kind } of tables) {
        for (const sql of [`INSERT INTO ${name} DEFAULT VALUES`, `UPDATE ${name} SET ${col} = ${col}`, `DELETE FROM ${name}`, `TRUNCATE ${name}`]) {
          const { code } = await as(client, role, sql);
          // The view (a join) is not writable by anyone: PostgreSQL says so before it checks privileges.
          const refused = kind === 'v' ? ['42501', '55000', '42809'].includes(code) : code === '42501';
          expect({ role, sql, code, refused }).toEqual({ role, sql, code, refused: true });
        }
      }
      for (const sql of ["SELECT quflx_tick_partition(1)", "SELECT quflx_secure('ticks', true)", "SELECT nextval('tick_pairs_id_seq')"]) {
        expect({ role, sql, code: (await as(client, role, sql)).code }).toEqual({ role, sql, code: '42501' });
      }
    }
  }, 60_000);
});
