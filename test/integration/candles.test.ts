import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CandleService } from '../../src/candles/candle-service.js';
import { aggregate, aggregateStates, type CandleTick } from '../../src/core/candle.js';
import { tickIdentity } from '../../src/core/identity.js';
import type { Tick } from '../../src/core/tick.js';
import { TIMEFRAMES, type Timeframe } from '../../src/core/timeframe.js';
import { asEpochMs } from '../../src/core/units.js';
import { candlesBetween } from '../../src/db/candle-repository.js';
import { migrate } from '../../src/db/migrate.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { CandleStore } from '../../src/redis/candle-store.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { TickStore } from '../../src/redis/tick-store.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { deleteKeys, getJson, postTicks, startTestApp, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';

const log = createLogger('silent');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let redis: RedisClient;
beforeAll(async () => {
  redis = await connectRedis(TEST_REDIS_URL, 'candles-test', log);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => redis.close());

const BASE = Date.UTC(2024, 10, 22, 18, 0, 0); // a minute (and hour) boundary
const asCandleTicks = (ticks: Tick[]): CandleTick[] => ticks.map((t) => ({ price: t.price, timestamp: t.timestamp, key: tickIdentity(t) }));
const t = (pair: string, price: number, ms: number, id?: string): Tick => ({ pair, price, timestamp: asEpochMs(ms), ...(id ? { id } : {}) });

/** Ticks over `minutes` minutes, a few per minute, prices as a walk. */
function minuteTicks(pair: string, minutes: number, perMinute: number, start = BASE): Tick[] {
  const out: Tick[] = [];
  let price = 1.1;
  for (let m = 0; m < minutes; m++) {
    for (let k = 0; k < perMinute; k++) {
      price = Number((price + (((m * 7 + k * 13) % 11) - 5) / 100_000).toFixed(5));
      out.push(t(pair, price, start + m * 60_000 + k * Math.floor(60_000 / perMinute) + 7));
    }
  }
  return out;
}

describe('GET /api/candles', () => {
  test('a miss aggregates from the database and queue and fills the cache; then hits; late ticks repair it', async () => {
    const app = await startTestApp({ BATCH_INTERVAL_MS: '200', CANDLE_CACHE_SIZE: '50', CANDLE_CACHE_TTL_S: '600' });
    cleanups.push(() => app.close());
    const ticks = minuteTicks('EUR/USD_otc', 60, 5);
    expect((await postTicks(app.url, ticks)).body.accepted).toBe(300);
    // Some ticks stored, some maybe still queued: the answer must count each once.
    await waitFor(async () => (await app.db.count()) > 0, 5000, 'some rows');

    const miss = await getJson(`${app.url}/api/candles?pair=EUR/USD_otc&timeframe=1m&limit=20`);
    expect(miss.source).toBe('database');
    expect(miss.timeframe).toBe('1M');
    expect(miss.candles).toEqual(aggregate(asCandleTicks(ticks), '1M').slice(-20));
    const key = `${app.prefix}historical:EURUSD_otc:1M`;
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    const cached = JSON.parse((await redis.get(key))!);
    expect(cached).toEqual(aggregate(asCandleTicks(ticks), '1M').slice(-50)); // CANDLE_CACHE_SIZE, oldest first

    const hit = await getJson(`${app.url}/api/candles?pair=EUR/USD_otc&timeframe=1M&limit=20`);
    expect(hit).toEqual({ ...miss, source: 'cache' });

    // A late tick in an old cached bucket, an earlier-than-open tick, and a new bucket.
    const more = [t('EUR/USD_otc', 1.5, BASE + 40 * 60_000 + 30_000), t('EUR/USD_otc', 0.9, BASE + 45 * 60_000 + 1), t('EUR/USD_otc', 1.2, BASE + 61 * 60_000)];
    expect((await postTicks(app.url, more)).body.accepted).toBe(3);
    const all = aggregate(asCandleTicks([...ticks, ...more]), '1M');
    expect(all).toHaveLength(61);
    const repaired = await getJson(`${app.url}/api/candles?pair=EUR/USD_otc&limit=50`);
    expect(repaired.source).toBe('cache');
    expect(repaired.candles).toEqual(all.slice(-50));
    expect(repaired.candles.find((c: { time: number }) => c.time === (BASE + 40 * 60_000) / 1000)).toMatchObject({ high: 1.5, volume: 6 });
    expect(repaired.candles.find((c: { time: number }) => c.time === (BASE + 45 * 60_000) / 1000)).toMatchObject({ low: 0.9 });
    // More than the cache holds: from the database, every bucket.
    const deep = await getJson(`${app.url}/api/candles?pair=EUR/USD_otc&limit=200`);
    expect(deep.source).toBe('database');
    expect(deep.candles).toEqual(all);
  });

  test('every timeframe; an expired cache is a miss and loses nothing the database cannot rebuild', async () => {
    const app = await startTestApp({ BATCH_INTERVAL_MS: '100', CANDLE_CACHE_TTL_S: '1' });
    cleanups.push(() => app.close());
    const ticks = minuteTicks('GBP/USD_otc', 300, 3, Date.UTC(2024, 10, 22, 22, 0, 0)); // crosses the UTC day
    expect((await postTicks(app.url, ticks)).body.accepted).toBe(900);
    for (const tf of TIMEFRAMES) {
      const body = await getJson(`${app.url}/api/candles?pair=GBP/USD_otc&timeframe=${tf}`);
      expect(body.source).toBe('database');
      expect(body.candles).toEqual(aggregate(asCandleTicks(ticks), tf).slice(-200));
    }
    expect((await getJson(`${app.url}/api/candles?pair=GBP/USD_otc&timeframe=1D`)).candles).toHaveLength(2);
    expect((await getJson(`${app.url}/api/candles?pair=GBP/USD_otc&timeframe=5M`)).source).toBe('cache');
    await waitFor(async () => (await app.db.count()) === 900, 10_000, 'all stored');
    await new Promise((r) => setTimeout(r, 1500));
    const rebuilt = await getJson(`${app.url}/api/candles?pair=GBP/USD_otc&timeframe=5M`);
    expect(rebuilt.source).toBe('database');
    expect(rebuilt.candles).toEqual(aggregate(asCandleTicks(ticks), '5M').slice(-200));
  });

  test('an unknown pair has no candles; bad parameters are 400 with a clear message', async () => {
    const app = await startTestApp();
    cleanups.push(() => app.close());
    expect(await getJson(`${app.url}/api/candles?pair=NONE`)).toEqual({ pair: 'NONE', timeframe: '1M', source: 'database', candles: [] });
    const cases: [string, string, RegExp][] = [
      ['timeframe=7M&pair=A', 'timeframe', /5S, 15S, 30S, 1M, 5M, 15M, 30M, 1H, 4H, 1D/],
      ['pair=A&limit=0', 'limit', /1 to 5000/],
      ['pair=A&limit=5001', 'limit', /1 to 5000/],
      ['pair=A&limit=ten', 'limit', /1 to 5000/],
      ['limit=10', 'pair', /required/],
      ['pair=../../x', 'pair', /start with a letter or digit/],
    ];
    for (const [query, field, message] of cases) {
      const res = await fetch(`${app.url}/api/candles?${query}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: unknown; details: unknown[] };
      expect(body.error).toEqual(expect.any(String));
      expect(body.details[0]).toEqual({ index: 0, field, message: expect.stringMatching(message) });
    }
  });
});

describe('candle cache mechanics', () => {
  let db: TestSchema;
  let prefix: string;
  beforeAll(async () => {
    db = await createTestSchema();
    await migrate(db.pool, log);
  });
  afterAll(async () => db.drop());

  test('concurrent misses for one key run one database aggregation (single flight)', async () => {
    prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const ticks = minuteTicks('SF/ONE', 30, 4);
    await insertTicks(db.pool, ticks.map(toRow));
    let aggregations = 0;
    // Each database fill reads in one snapshot on one connection: count the candle aggregations there.
    const counting = Object.create(db.pool) as pg.Pool;
    counting.connect = (async () => {
      const client = await db.pool.connect();
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        if (/FROM tick_rollups[\s\S]*GROUP BY/.test(String(args[0]))) aggregations++;
        return query(...args);
      }) as typeof client.query;
      return client;
    }) as pg.Pool['connect'];
    const service = new CandleService(new CandleStore(redis, new RedisKeys(prefix)), counting, { cacheSize: 200, cacheTtlS: 60 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => service.candles('SF/ONE', '1M', 200)));
    expect(aggregations).toBe(1);
    for (const a of answers) expect(a).toEqual({ source: 'database', candles: aggregate(asCandleTicks(ticks), '1M') });
    expect(await service.candles('SF/ONE', '1M', 200)).toMatchObject({ source: 'cache' });
    expect(aggregations).toBe(1);
  });

  test('a fill catches up with ticks accepted while it read the database', async () => {
    prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const keys = new RedisKeys(prefix);
    const ticks = minuteTicks('FILL/RACE', 10, 6);
    const store = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: 200 });
    await store.write(ticks.slice(0, 30));
    // What a fill would have read at seq 30 ...
    const readAt30 = aggregateStates(asCandleTicks(ticks.slice(0, 30)), '1M');
    // ... while 30 more ticks were accepted before it installed the cache.
    await store.write(ticks.slice(30));
    const candleStore = new CandleStore(redis, keys);
    expect(await candleStore.fill('FILL/RACE', '1M', { seq: 30, generation: '0' }, readAt30, 60, 200)).toBe(true);
    expect(await candleStore.readView('FILL/RACE', '1M')).toEqual(aggregate(asCandleTicks(ticks), '1M'));
    // An import rewrote the history after a read: that read can no longer be installed.
    await candleStore.invalidate('FILL/RACE', TIMEFRAMES);
    expect(await candleStore.readView('FILL/RACE', '1M')).toBeNull();
    expect(await candleStore.fill('FILL/RACE', '1M', { seq: 60, generation: '0' }, readAt30, 60, 200)).toBe(false);
    expect(await candleStore.fill('FILL/RACE', '1M', { seq: 60, generation: '1' }, aggregateStates(asCandleTicks(ticks), '1M'), 60, 200)).toBe(true);
    expect(await candleStore.readView('FILL/RACE', '1M')).toEqual(aggregate(asCandleTicks(ticks), '1M'));
  });

  test('queued ticks count once, whether the persister stored them already or not, short queue or long', async () => {
    prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const keys = new RedisKeys(prefix);
    const store = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: 200 });
    await store.init();
    const service = new CandleService(new CandleStore(redis, keys), db.pool, { cacheSize: 200, cacheTtlS: 60 });
    // Short queue: 100 ticks accepted, the first 60 also stored (written, not yet trimmed).
    const ticks = minuteTicks('QUEUE/ONE', 20, 5);
    await store.write(ticks);
    await insertTicks(db.pool, ticks.slice(0, 60).map(toRow));
    expect(await service.candles('QUEUE/ONE', '1M', 200)).toEqual({ source: 'database', candles: aggregate(asCandleTicks(ticks), '1M') });

    // A queue longer than cdelta reaches (a backlog): the fill scans the queue instead.
    const noise = minuteTicks('QUEUE/NOISE', 20_100, 1, BASE - 30 * 86_400_000);
    await store.write(noise);
    const more = minuteTicks('QUEUE/TWO', 10, 3);
    await store.write(more);
    await insertTicks(db.pool, more.slice(0, 12).map(toRow));
    expect(await service.candles('QUEUE/TWO', '1M', 200)).toEqual({ source: 'database', candles: aggregate(asCandleTicks(more), '1M') });
  }, 60_000);

  test('property: SQL aggregation equals in-memory aggregation on random tick sets', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 12; round++) {
      const pair = `PROP/R${round}`;
      const n = 20 + Math.floor(random() * 400);
      const start = BASE + Math.floor(random() * 86_400_000);
      const spread = [10_000, 600_000, 3 * 86_400_000][round % 3]!;
      const ticks: Tick[] = [];
      for (let i = 0; i < n; i++) {
        // Coarse timestamps make ties; some ids, some not; prices with full double precision.
        const ts = start + Math.floor(random() * spread / 250) * 250;
        ticks.push(t(pair, 0.5 + random() * 2, ts, random() < 0.4 ? `id-${Math.floor(random() * 1e6)}` : undefined));
      }
      await insertTicks(db.pool, ticks.map(toRow));
      const tf: Timeframe = TIMEFRAMES[Math.floor(random() * TIMEFRAMES.length)]!;
      const stored = (await db.pool.query('SELECT price, "timestamp", feed_id FROM historical_ticks WHERE pair = $1', [pair])).rows.map((r) => {
        const timestamp = asEpochMs(Number(r.timestamp));
        const key = tickIdentity({ pair, price: r.price as number, timestamp, ...(r.feed_id === null ? {} : { id: r.feed_id as string }) });
        return { price: r.price as number, timestamp, key };
      });
      const sql = await candlesBetween(db.pool, pair, tf, 0, 4_000_000_000);
      expect(sql).toEqual(aggregateStates(stored, tf));
      expect(sql.reduce((s, c) => s + c.volume, 0)).toBe(stored.length);
    }
  });
});

describe('live candles over Socket.IO', () => {
  test('subscribe with a timeframe gets candle history, then candle events for forming and late buckets', async () => {
    const { TickCollector } = await import('../helpers/socket-client.js');
    const app = await startTestApp({ BATCH_INTERVAL_MS: '200' });
    cleanups.push(() => app.close());
    const history = minuteTicks('EUR/USD_otc', 30, 4);
    await postTicks(app.url, history);
    const c = await TickCollector.connect(app.url);
    cleanups.push(() => c.close());
    const events: { pair: string; timeframe: string; candle: { time: number } }[] = [];
    c.socket.on('candle', (e) => events.push(e));
    const ack = await c.subscribe('EUR/USD_otc', '5m');
    if (!ack.ok) throw new Error(ack.error);
    expect(ack.timeframe).toBe('5M');
    expect(ack.candles).toEqual(aggregate(asCandleTicks(history), '5M'));

    // A tick in the forming bucket, one opening a new bucket, and a late one in an old bucket.
    const more = [t('EUR/USD_otc', 1.3, BASE + 29 * 60_000 + 59_000), t('EUR/USD_otc', 1.4, BASE + 30 * 60_000 + 5), t('EUR/USD_otc', 0.8, BASE + 3 * 60_000)];
    for (const x of more) await postTicks(app.url, x);
    const all = aggregate(asCandleTicks([...history, ...more]), '5M');
    await waitFor(() => events.length >= 3, 5000, 'candle events');
    const last = new Map(events.map((e) => [e.candle.time, e.candle]));
    for (const [time, candle] of last) expect(candle).toEqual(all.find((x) => x.time === time));
    expect([...last.keys()].sort()).toEqual([BASE / 1000, (BASE + 25 * 60_000) / 1000, (BASE + 30 * 60_000) / 1000]);
    expect(events.every((e) => e.pair === 'EUR/USD_otc' && e.timeframe === '5M')).toBe(true);
  });
});
