import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { QuflxApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { HttpLimits } from '../../src/http/http-server.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import type { Cleanups } from './cleanups.js';
import { createTestSchema, type TestSchema } from './test-db.js';

/** The real servers every integration test uses (never the emulation). */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh key prefix, so tests sharing one Redis never see each other's keys. */
export function uniquePrefix(): string {
  return `test:${randomBytes(5).toString('hex')}:`;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: TEST_DATABASE_URL,
    FEED: 'none',
    // No past ticks unless a test asks: row counts stay the test's own.
    SIMULATOR_HISTORY_HOURS: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

export interface TestApp {
  app: QuflxApp;
  prefix: string;
  url: string;
  /** The app's own database schema (a fresh one unless passed in). */
  db: TestSchema;
  close(): Promise<void>;
}

export interface TestAppOptions {
  prefix?: string;
  /** Keep the Redis keys on close (a later app continues with them). */
  keepKeys?: boolean;
  /** Share a schema (a restart, a second process); the caller drops it. */
  db?: TestSchema;
  consumer?: string;
  /** The app's logger (default: LOG_LEVEL's, silent in tests). */
  log?: Logger;
  /** Shorter HTTP time limits, for tests of them. */
  httpLimits?: Partial<HttpLimits>;
}

/** Starts QuFLX against the real Redis and PostgreSQL with its own key prefix; close() also deletes its keys. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const prefix = options.prefix ?? uniquePrefix();
  const db = options.db ?? (await createTestSchema());
  const config = testConfig({ DATABASE_URL: db.url, ...env });
  const consumer = options.consumer ?? `test-${randomBytes(4).toString('hex')}`;
  let app: QuflxApp;
  try {
    app = await QuflxApp.start(config, options.log ?? createLogger(config.logLevel), { keyPrefix: prefix, persistConsumer: consumer, httpLimits: options.httpLimits });
  } catch (err) {
    if (!options.db) await db.drop();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    app,
    prefix,
    url: app.url,
    db,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        if (!options.keepKeys) await deleteKeys(config.redisUrl ?? TEST_REDIS_URL, prefix);
        if (!options.db) await db.drop();
      })()),
  };
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = createClient({ url, RESP: 2 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } catch {
    /* the server under test may be gone already */
  } finally {
    if (client.isOpen) await client.close();
  }
}

export async function postTicks(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}/api/ticks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: the test will say so */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET `path` and parse the JSON body (tests assert on its shape). */
export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  return res.json();
}

/**
 * startTestApp for a test file: `defaults` go under each call's env, and each app is closed after
 * its test.
 */
export function appStarter(cleanups: Cleanups, defaults: Record<string, string> = {}) {
  return async (env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> => {
    const t = await startTestApp({ ...defaults, ...env }, options);
    cleanups.push(() => t.close());
    return t;
  };
}
