import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import { LONG_QUERY_TIMEOUT_MS } from './database.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
/** Advisory lock id: "QuFLX" in ASCII. Two processes starting together apply each migration once. */
const LOCK_ID = 0x5175464c58;

/**
 * Applies the SQL files in migrations/ that this database has not seen, in name order, each in
 * its own transaction, under a session advisory lock so concurrent starts queue up.
 */
export async function migrate(pool: pg.Pool, log: Logger): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const file of files) {
        if (done.has(file)) continue;
        const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
        await client.query('BEGIN');
        try {
          // A migration may rewrite a big table: no query deadline for it.
          await client.query({ text: sql, query_timeout: LONG_QUERY_TIMEOUT_MS } as pg.QueryConfig);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${file} failed: ${(err as Error).message}`);
        }
        applied.push(file);
        log.info({ migration: file }, 'database migration applied');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
    }
  } finally {
    client.release();
  }
  return applied;
}

/** Migrates, retrying with capped backoff while the database is unreachable, until done or aborted. */
export async function migrateWithRetry(pool: pg.Pool, log: Logger, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await migrate(pool, log);
      return true;
    } catch (err) {
      const delay = backoffDelay(attempt, 200, 10_000);
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'database not ready for migrations; retrying');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return false;
}
