import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import { backoffDelay } from '../lib/backoff.js';
import { LONG_QUERY_TIMEOUT_MS } from './database.js';
import type { Logger } from '../observability/logger.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
/** First key of the migration lock: "QFLX" in ASCII; the second is the schema's hash. */
const LOCK_CLASS = 0x51464c58;

/** The migration files, in the order they apply (their names start with a number). */
export async function migrationFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
}

export async function readMigration(file: string): Promise<string> {
  return readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
}

/** Bookkeeping of applied migrations (also in the pasted schema, so QuFLX does not apply them again). */
export const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`;

/**
 * Every migration in one script, for a fresh database (Supabase's SQL editor): the same SQL
 * QuFLX applies at start, each file recorded in schema_migrations, all in one transaction.
 */
export async function pasteableSchema(): Promise<string> {
  const parts = [
    '-- QuFLX database schema, for pasting whole into Supabase\'s SQL editor on a fresh database.',
    '-- Generated from src/db/migrations by `npm run cli -- db schema`; QuFLX applies the same files at',
    '-- start and skips the ones recorded in schema_migrations. Do not edit: regenerate.',
    'BEGIN;',
    `${SCHEMA_MIGRATIONS};`,
  ];
  for (const file of await migrationFiles()) {
    parts.push(`\n-- ${'='.repeat(20)} ${file} ${'='.repeat(20)}\n`, (await readMigration(file)).trim());
    parts.push(`INSERT INTO schema_migrations (version) VALUES ('${file}');`);
  }
  parts.push('COMMIT;');
  return parts.join('\n') + '\n';
}

/**
 * Applies the SQL files in migrations/ that this database has not seen, in name order, each in
 * its own transaction under a transaction-level advisory lock: concurrent starts queue up and
 * apply each file once, and nothing outlives the transaction, so it works through a pooler in
 * transaction mode (Supabase's port 6543), where session locks would stay with a pooled server
 * connection. NOTICEs a migration raises (its progress) go to the log.
 */
export async function migrate(pool: pg.Pool, log: Logger): Promise<string[]> {
  const applied: string[] = [];
  for (const file of await migrationFiles()) {
    const client = await pool.connect();
    const onNotice = (msg: { message?: string }) => log.info({ migration: file }, msg.message ?? '');
    let fresh = false;
    try {
      await client.query('BEGIN');
      try {
        // A long data move must not meet a role's statement_timeout (Supabase sets some).
        await client.query('SET LOCAL statement_timeout = 0');
        // Another process may hold the lock through a long migration: no client deadline on the wait.
        await client.query({ text: 'SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', values: [LOCK_CLASS], query_timeout: LONG_QUERY_TIMEOUT_MS } as pg.QueryConfig);
        await client.query(SCHEMA_MIGRATIONS);
        const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [file]);
        if (done.rowCount === 0) {
          log.info({ migration: file }, 'applying database migration');
          client.on('notice', onNotice);
          // A migration may rewrite a big table: no client deadline for it either.
          await client.query({ text: await readMigration(file), query_timeout: LONG_QUERY_TIMEOUT_MS } as pg.QueryConfig);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
          fresh = true;
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      if (fresh) {
        applied.push(file);
        log.info({ migration: file }, 'database migration applied');
      }
    } finally {
      client.removeListener('notice', onNotice);
      client.release();
    }
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
