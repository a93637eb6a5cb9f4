import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { aggregate } from '../../src/core/candle.js';
import { tickIdentity } from '../../src/core/identity.js';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { Database } from '../../src/db/database.js';
import { migrate, migrationFiles } from '../../src/db/migrate.js';
import { COPY_THRESHOLD, insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { runCli } from '../helpers/cli.js';
import { pooledDatabase, startAppOn } from '../helpers/pgbouncer.js';
import { deleteKeys, getJson, postTicks, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();

/** `n` ticks of `pair` every 20 s from `start`, with ids from `firstId` when given. */
function ticks(pair: string, n: number, start: number, firstId?: number): Tick[] {
  return Array.from({ length: n }, (_, i) => ({
    pair,
    price: Number((1.1 + Math.sin(i / 7) / 100).toFixed(5)),
    timestamp: asEpochMs(start + i * 20_000),
    ...(firstId === undefined ? {} : { id: firstId + i }),
  }));
}

describe('QuFLX through a pooler in transaction mode (Supabase port 6543)', () => {
  test('migrations, the persister, cache fills, CSV import and export, and db stats', async () => {
    const { db, url, direct, count, close } = await pooledDatabase();
    cleanups.push(close);

    // Three processes migrating at once, each statement on whichever server connection is free:
    // the transaction-level lock still applies each migration once.
    const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: url, max: 2 }));
    const applied = await Promise.all(pools.map((p) => migrate(p, log)));
    expect(applied.flat().sort()).toEqual(await migrationFiles());
    // A batch over COPY_THRESHOLD goes in with COPY, straight into its day partition (no session
    // temporary table), twice at once from two pools: stored once.
    const dayStart = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000;
    const big = Array.from({ length: COPY_THRESHOLD + 1000 }, (_, i) => ({ pair: 'CHF/JPY_otc', price: 160 + i / 1000, timestamp: asEpochMs(dayStart + 3_600_000 + i * 10), id: i }));
    expect((await Promise.all(pools.slice(0, 2).map((p) => insertTicks(p, big.map((t) => toRow(t)))))).sort()).toEqual([0, big.length]);
    await Promise.all(pools.map((p) => p.end()));
    await direct.query(`DELETE FROM ticks WHERE pair_id = (SELECT id FROM tick_pairs WHERE pair = 'CHF/JPY_otc')`);
    await direct.query(`DELETE FROM tick_days WHERE pair_id = (SELECT id FROM tick_pairs WHERE pair = 'CHF/JPY_otc')`);

    // The persister and a cache fill (REPEATABLE READ) through the pooler.
    const { app, close: closeApp } = await startAppOn(url);
    cleanups.push(closeApp);
    const start = Date.now() - 3 * 3_600_000;
    const eur = ticks('EUR/USD_otc', 400, start);
    const gbp = ticks('GBP/USD_otc', 300, start, 5_000_000);
    expect((await postTicks(app.url, [...eur, ...gbp])).body).toEqual({ accepted: 700, duplicates: 0 });
    await waitFor(async () => (await count()) === 700, 20_000, '700 rows stored');
    const candles = await getJson(`${app.url}/api/candles?pair=GBP/USD_otc&timeframe=1M&limit=500`);
    expect(candles.source).toBe('database');
    expect(candles.candles).toEqual(aggregate(gbp.map((t) => ({ ...t, key: tickIdentity(t) })), '1M'));
    await closeApp();

    // CSV through the CLI: the export's cursor and the import's batches each inside one transaction.
    const dir = await mkdtemp(path.join(tmpdir(), 'quflx-bouncer-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const env = { DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const file = path.join(dir, 'gbp.csv');
    const exported = await runCli(['export', '--pair', 'GBP/USD_otc', '--out', file], env);
    expect(exported).toMatchObject({ code: 0, stderr: expect.stringContaining('exported 300 ticks of GBP/USD_otc') });
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('pair,price,timestamp,id');
    expect(lines.slice(1)).toEqual(gbp.map((t) => `GBP/USD_otc,${t.price},${t.timestamp},${t.id}`));
    const again = await runCli(['import', file], env);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('imported 0 new ticks, 300 duplicates') });
    const fresh = path.join(dir, 'aud.csv');
    await writeFile(fresh, ['pair,price,timestamp,id', ...ticks('AUD/CAD_otc', 50, start).map((t) => `${t.pair},${t.price},${t.timestamp},`)].join('\n'));
    expect(await runCli(['import', fresh], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('imported 50 new ticks, 0 duplicates') });
    expect(await count()).toBe(750);

    const stats = await runCli(['db', 'stats', '--json'], env);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ ticks: 750, oldest: eur[0]!.timestamp, newest: eur.at(-1)!.timestamp });
    // Nothing QuFLX left on the pooled server connections: no session advisory lock is held.
    const held = await direct.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = $1)`, [db.name]);
    expect(held.rows[0].n).toBe(0);
  }, 180_000);

  test('sslmode=require in DATABASE_URL is honoured: TLS without verifying the certificate, as libpq does', async () => {
    const { db, bouncer, count, close } = await pooledDatabase({ tls: true });
    cleanups.push(close);
    // This pooler refuses clients without TLS ...
    const plain = new Database(bouncer.url(db.name), 'external', log);
    cleanups.push(() => plain.close());
    await expect(plain.pool.query('SELECT 1')).rejects.toThrow(/SSL required/);
    // ... and its certificate is self-signed: node-postgres alone would read require as verify-full.
    const strict = new pg.Pool({ connectionString: bouncer.url(db.name, { sslmode: 'require' }), max: 1 });
    cleanups.push(() => strict.end());
    await expect(strict.query('SELECT 1')).rejects.toThrow(/self[- ]signed certificate/);
    const tls = new Database(bouncer.url(db.name, { sslmode: 'require' }), 'external', log);
    cleanups.push(() => tls.close());
    await migrate(tls.pool, log);
    expect(await insertTicks(tls.pool, ticks('EUR/USD_otc', 10, Date.now() - 60_000).map((t) => toRow(t)))).toBe(10);
    expect(await count()).toBe(10);
  });
});
