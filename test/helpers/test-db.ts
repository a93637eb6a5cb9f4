import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_DATABASE_URL } from './test-app.js';

/** A connection string whose sessions use `schema` first: each test gets tables of its own. */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export interface TestSchema {
  schema: string;
  url: string;
  pool: pg.Pool;
  count(sql?: string): Promise<number>;
  drop(): Promise<void>;
}

/** Creates an empty schema in the test database; drop() removes it and everything in it. */
export async function createTestSchema(base = TEST_DATABASE_URL): Promise<TestSchema> {
  const schema = `t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = withSearchPath(base, schema);
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  return {
    schema,
    url,
    pool,
    count: async (sql = 'SELECT count(*)::int AS n FROM historical_ticks') => (await pool.query<{ n: number }>(sql)).rows[0]!.n,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** Resolves once every migration in src/db/migrations is applied in the schema (an app migrates in the background). */
export async function waitForSchema(db: TestSchema, timeoutMs = 20_000): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  const files = (await readdir(new URL('../../src/db/migrations/', import.meta.url))).filter((f) => f.endsWith('.sql'));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const applied = await db.count('SELECT count(*)::int AS n FROM schema_migrations').catch(() => -1);
    if (applied >= files.length) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the schema: ${applied} of ${files.length} migrations applied`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
