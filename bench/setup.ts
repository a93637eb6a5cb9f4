import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import { createClient } from 'redis';
import { QuflxApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';

/**
 * Where the benchmark runs: the real servers (never the emulation), with a Redis key prefix,
 * a PostgreSQL schema and a persist consumer of its own, all removed at the end.
 */
export interface BenchEnv {
  redisUrl: string;
  /** The database as given; the run's tables live in `schema` inside it. */
  databaseUrl: string;
  /** Prefix of every Redis key this run creates (app and baseline). */
  prefix: string;
  schema: string;
  consumer: string;
}

export function benchEnv(env: NodeJS.ProcessEnv = process.env): BenchEnv {
  const id = randomBytes(5).toString('hex');
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    prefix: `bench:${id}:`,
    schema: `bench_${id}`,
    consumer: `bench-${id}`,
  };
}

/** A whole-number setting from the environment (`BENCH_*`), else `fallback`. */
export function intSetting(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name}=${JSON.stringify(raw)}: must be a positive whole number`);
  return n;
}

/** Creates the run's schema (or another of its own); returns a connection string whose sessions use it first. */
export async function createSchema(env: BenchEnv, schema = env.schema): Promise<string> {
  await adminQuery(env.databaseUrl, `CREATE SCHEMA ${schema}`);
  const u = new URL(env.databaseUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** Drops the run's schema (or another of its own) and every row the persister wrote into it. */
export async function dropSchema(env: BenchEnv, schema = env.schema): Promise<void> {
  await adminQuery(env.databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** QuFLX's log for the run: stderr, level BENCH_LOG_LEVEL (default error), so stdout stays the report. */
export function benchLogger(level = process.env.BENCH_LOG_LEVEL ?? 'error'): Logger {
  return pino({ level, base: { app: 'quflx' } }, pino.destination(2));
}

/** Where a benchmark's QuFLX differs from the run's defaults. */
export interface BenchAppOverrides {
  /** Another Redis (a private one); its keys then need no prefix. */
  redisUrl?: string;
  keyPrefix?: string;
  /** FEED (default none). */
  feed?: string;
}

/**
 * Starts QuFLX as `npm start` would, but with no feed, an ephemeral port, the run's key prefix,
 * schema (`databaseUrl`) and persist consumer. Its log goes to stderr (level BENCH_LOG_LEVEL,
 * default error) so that stdout stays the report.
 */
export async function startBenchApp(env: BenchEnv, databaseUrl: string, overrides: BenchAppOverrides = {}): Promise<QuflxApp> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: overrides.redisUrl ?? env.redisUrl,
    DATABASE_URL: databaseUrl,
    FEED: overrides.feed ?? 'none',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
  });
  return QuflxApp.start(config, benchLogger(config.logLevel), { keyPrefix: overrides.keyPrefix ?? env.prefix, persistConsumer: env.consumer });
}

/** Deletes every key under `prefix` (SCAN MATCH + DEL); returns how many were deleted. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = createClient({ url, RESP: 2 });
  client.on('error', () => undefined);
  let deleted = 0;
  try {
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) deleted += await client.del(keys);
    }
  } finally {
    if (client.isOpen) await client.close();
  }
  return deleted;
}
