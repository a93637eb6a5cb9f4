import { describe, expect, test } from 'vitest';
import { aggregate } from '../../src/core/candle.js';
import { tickIdentity } from '../../src/core/identity.js';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { candlesBetween } from '../../src/db/candle-repository.js';
import { migrate } from '../../src/db/migrate.js';
import { dayOf, DAY_MS, partitionName } from '../../src/db/tick-partitions.js';
import { TickRetention } from '../../src/db/tick-retention.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { pooledDatabase, startAppOn } from '../helpers/pgbouncer.js';
import { getJson, postTicks, waitFor } from '../helpers/test-app.js';
import { createTestSchema } from '../helpers/test-db.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();

const HOUR = 3_600_000;
const withKeys = (ticks: Tick[]) => ticks.map((t) => ({ ...t, key: tickIdentity(t) }));

/** `n` ticks of `pair` every 40 s from `start` (ids from `firstId` when given). */
function ticks(pair: string, n: number, start: number, firstId?: number): Tick[] {
  return Array.from({ length: n }, (_, i) => ({
    pair,
    price: Number((1.2 + Math.cos(i / 5) / 100).toFixed(5)),
    timestamp: asEpochMs(start + i * 40_000),
    ...(firstId === undefined ? {} : { id: firstId + i }),
  }));
}

async function partitionNames(pool: { query: (sql: string) => Promise<{ rows: { relname: string }[] }> }): Promise<string[]> {
  const r = await pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'ticks'::regclass ORDER BY 1`);
  return r.rows.map((x) => x.relname);
}

describe('retention on daily partitions (TICK_RETENTION_DAYS), through the pooler', () => {
  test('old ticks are gone after a restart; their 1H and 1D candles stay; a tick arriving expired counts once and is not stored', async () => {
    const pooled = await pooledDatabase();
    cleanups.push(pooled.close);
    const today = dayOf(Date.now());
    // Ten and five days ago (3 hours each, one pair with ids), and the last hour.
    const old10 = ticks('EUR/USD_otc', 270, (today - 10) * DAY_MS + 9 * HOUR);
    const old5 = ticks('GBP/USD_otc', 270, (today - 5) * DAY_MS + 9 * HOUR, 7_000_000);
    const recent = ticks('EUR/USD_otc', 60, Date.now() - HOUR);

    const first = await startAppOn(pooled.url);
    cleanups.push(first.close);
    expect((await postTicks(first.app.url, [...old10, ...old5, ...recent])).body.accepted).toBe(600);
    await waitFor(async () => (await pooled.count()) === 600, 20_000, 'all stored');
    const read = async (url: string, pair: string, tf: string) => (await getJson(`${url}/api/candles?pair=${pair}&timeframe=${tf}&limit=5000`)).candles;
    const before = {
      eur1h: await read(first.app.url, 'EUR/USD_otc', '1H'),
      eur1d: await read(first.app.url, 'EUR/USD_otc', '1D'),
      gbp1h: await read(first.app.url, 'GBP/USD_otc', '1H'),
      gbp1d: await read(first.app.url, 'GBP/USD_otc', '1D'),
    };
    expect(before.eur1h).toEqual(aggregate(withKeys([...old10, ...recent]), '1H'));
    expect(before.gbp1d).toEqual(aggregate(withKeys(old5), '1D'));
    expect(await partitionNames(pooled.direct)).toEqual(expect.arrayContaining([partitionName(today - 10), partitionName(today - 5)]));
    await first.close();

    // Restarted with a retention of 3 days (and an empty candle cache: a key prefix of its own).
    const second = await startAppOn(pooled.url, { TICK_RETENTION_DAYS: '3' });
    cleanups.push(second.close);
    const fineRollupsOfOldDays = `SELECT count(*)::int AS n FROM tick_rollups WHERE size IN (5, 60) AND bucket < ${(today - 3) * 86_400}`;
    await waitFor(async () => (await pooled.count()) === 60 && (await pooled.count(fineRollupsOfOldDays)) === 0, 20_000, 'old days dropped');
    const names = await partitionNames(pooled.direct);
    expect(names).not.toContain(partitionName(today - 10));
    expect(names).not.toContain(partitionName(today - 5));
    expect(names).toEqual(expect.arrayContaining([partitionName(today), partitionName(today + 1)]));
    expect(await pooled.count('SELECT count(*)::int AS n FROM tick_days WHERE day < ' + (today - 3))).toBe(0);
    const after = {
      eur1h: await read(second.app.url, 'EUR/USD_otc', '1H'),
      eur1d: await read(second.app.url, 'EUR/USD_otc', '1D'),
      gbp1h: await read(second.app.url, 'GBP/USD_otc', '1H'),
      gbp1d: await read(second.app.url, 'GBP/USD_otc', '1D'),
    };
    expect(after).toEqual(before);
    // Shorter candles go with the ticks: 1M of the dropped days is gone, the last hour's remains.
    expect(await read(second.app.url, 'EUR/USD_otc', '1M')).toEqual(aggregate(withKeys(recent), '1M'));
    expect(await read(second.app.url, 'GBP/USD_otc', '1M')).toEqual([]);

    // A tick older than the retention: not stored, counted in its hour once, even when sent again.
    const late: Tick = { pair: 'GBP/USD_otc', price: 1.5, timestamp: asEpochMs((today - 5) * DAY_MS + 9 * HOUR + 1234) };
    const hour = Math.floor(late.timestamp / HOUR) * 3600;
    const volume = async () => (await candlesBetween(pooled.direct, 'GBP/USD_otc', '1H', hour, hour + 3600))[0]!.volume;
    const volumeBefore = await volume();
    expect((await postTicks(second.app.url, [late])).body.accepted).toBe(1);
    await waitFor(async () => (await volume()) === volumeBefore + 1, 10_000, 'the late tick counted');
    expect(await insertTicks(pooled.direct, [toRow(late)])).toBe(0); // a replay of the batch
    expect(await volume()).toBe(volumeBefore + 1);
    expect(await pooled.count()).toBe(60);
    expect(await pooled.count('SELECT count(*)::int AS n FROM expired_ticks')).toBe(1);
  }, 120_000);

  test('the job repeats without a restart: a day that falls behind the retention is dropped at the next run', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    await migrate(db.pool, log);
    const today = dayOf(Date.now());
    const retention = new TickRetention(db.pool, log, { days: 5, intervalMs: 200 });
    cleanups.push(() => retention.close());
    retention.start();
    await waitFor(async () => (await partitionNames(db.pool)).includes(partitionName(today + 1)), 10_000, 'partitions ahead');
    // A day of ticks behind the retention appears (as if time had passed since they were written).
    // (One transaction: the setting is the job's again, for every other session, when it commits.)
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE quflx_settings SET tick_retention_days = NULL');
      expect(await insertTicks(client, ticks('EUR/USD_otc', 10, (today - 9) * DAY_MS).map((t) => toRow(t)))).toBe(10);
      await client.query('UPDATE quflx_settings SET tick_retention_days = 5');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await partitionNames(db.pool)).toContain(partitionName(today - 9));
    await waitFor(async () => !(await partitionNames(db.pool)).includes(partitionName(today - 9)), 10_000, 'dropped by a later run');
    expect(await db.count()).toBe(0);
    expect(await db.count('SELECT count(*)::int AS n FROM tick_days')).toBe(0);
  });
});
