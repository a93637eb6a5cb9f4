import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CandleService } from '../../src/candles/candle-service.js';
import { aggregate, aggregateStates, toCandle, type CandleTick } from '../../src/core/candle.js';
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
import { createTestSchema, waitForSchema, type TestSchema } from '../helpers/test-db.js';
import { deleteKeys, getJson, postTicks, startTestApp, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();
let redis: RedisClient;
beforeAll(async () => {
  redis = await connectRedis(TEST_REDIS_URL, 'candles-test', log);
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
    await waitFor(async () => (await app.db.count()) > 0, 30_000, 'some rows');

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
    await waitFor(async () => (await app.db.count()) === 900, 30_000, 'all stored');
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

describe('history paging: GET /api/candles?before=', () => {
  test('pages back through all stored history, each candle once, from the cache where it holds them', async () => {
    const app = await startTestApp({ CANDLE_CACHE_SIZE: '50' });
    cleanups.push(() => app.close());
    await waitForSchema(app.db);
    // Three days of 1M with a day-long hole in the middle (the reader must widen over it), stored
    // straight in the database as an import does; the last hour also live, so the cache fills.
    const start = Date.UTC(2024, 10, 18, 0, 0, 0);
    const old = [...minuteTicks('PAGE/ONE', 1440, 2, start), ...minuteTicks('PAGE/ONE', 1380, 2, start + 2 * 86_400_000)];
    await insertTicks(app.db.pool, old.map(toRow));
    const live = minuteTicks('PAGE/ONE', 60, 2, start + 2 * 86_400_000 + 1380 * 60_000);
    expect((await postTicks(app.url, live)).body.accepted).toBe(120);
    const all = aggregate(asCandleTicks([...old, ...live]), '1M');
    expect(all).toHaveLength(2880);

    const first = await getJson(`${app.url}/api/candles?pair=PAGE/ONE&timeframe=1M&limit=40`);
    expect(first.candles).toEqual(all.slice(-40));
    // Inside what the cache holds (its 50): a page from the cache.
    const cachedPage = await getJson(`${app.url}/api/candles?pair=PAGE/ONE&timeframe=1M&limit=5&before=${first.candles[0].time}`);
    expect(cachedPage).toEqual({ pair: 'PAGE/ONE', timeframe: '1M', source: 'cache', candles: all.slice(-45, -40) });

    const pages: { time: number }[][] = [first.candles];
    for (let before = first.candles[0].time; ; ) {
      const page = await getJson(`${app.url}/api/candles?pair=PAGE/ONE&timeframe=1M&limit=700&before=${before}`);
      expect(page.candles.every((c: { time: number }) => c.time < before)).toBe(true);
      pages.unshift(page.candles);
      if (page.candles.length < 700) break;
      expect(page.source).toBe('database');
      before = page.candles[0].time;
    }
    expect(pages.flat()).toEqual(all);
    expect(pages).toHaveLength(1 + Math.ceil((2880 - 40) / 700));

    // Indicator values for a page: the same as over the whole history, before that time.
    const at = all[1000]!.time;
    const page = await getJson(`${app.url}/api/indicators?pair=PAGE/ONE&timeframe=1M&name=ema&period=20&limit=300&before=${at}`);
    const whole = await getJson(`${app.url}/api/indicators?pair=PAGE/ONE&timeframe=1M&name=ema&period=20&limit=5000`);
    const expected = whole.values.filter((v: { time: number }) => v.time < at).slice(-300);
    expect(page.values.map((v: { time: number }) => v.time)).toEqual(expected.map((v: { time: number }) => v.time));
    page.values.forEach((v: { value: number }, i: number) => expect(v.value).toBeCloseTo(expected[i].value, 10));

    // `before` between bucket opens: the candles that open before it, whole. And before the start: none.
    const hours = aggregate(asCandleTicks([...old, ...live]), '1H');
    const mid = hours[30]!.time + 1800;
    expect((await getJson(`${app.url}/api/candles?pair=PAGE/ONE&timeframe=1H&limit=3&before=${mid}`)).candles).toEqual(hours.slice(28, 31));
    expect((await getJson(`${app.url}/api/candles?pair=PAGE/ONE&timeframe=1H&before=${start / 1000}`)).candles).toEqual([]);

    for (const bad of ['-5', '1.5', 'soon', '99999999999999999']) {
      const res = await fetch(`${app.url}/api/candles?pair=PAGE/ONE&before=${bad}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { details: unknown[] }).details[0]).toEqual({ index: 0, field: 'before', message: expect.stringMatching(/epoch seconds/) });
    }
  }, 60_000);
});

describe('history paging: GET /api/ticks?before=', () => {
  test('pages of stored ticks before a time, oldest first, never splitting a millisecond', async () => {
    const app = await startTestApp();
    cleanups.push(() => app.close());
    await waitForSchema(app.db);
    // 300 ticks, three in each millisecond that is a multiple of 10 (ties); the first without an id.
    const ticks = Array.from({ length: 300 }, (_, i) => t('TICK/PAGE', 1 + i / 1e4, BASE + Math.floor(i / 3) * 10, i === 0 ? undefined : `k${String(i).padStart(3, '0')}`));
    await insertTicks(app.db.pool, ticks.map(toRow));
    const pages: { price: number; timestamp: number; id?: string }[][] = [];
    for (let before = BASE + 10_000; ; ) {
      const page = await getJson(`${app.url}/api/ticks?pair=TICK/PAGE&limit=40&before=${before}`);
      if (page.length === 0) break;
      // 40 asked; a page ending inside a millisecond takes the rest of it (up to 2 more).
      expect(page.length).toBeGreaterThanOrEqual(Math.min(40, 300 - pages.flat().length));
      expect(page.length).toBeLessThanOrEqual(42);
      expect(page.every((x: { timestamp: number }) => x.timestamp < before)).toBe(true);
      pages.unshift(page);
      before = page[0].timestamp;
    }
    const got = pages.flat();
    expect(got.map((x) => x.price)).toEqual(ticks.map((x) => x.price));
    expect(got[0]).toEqual({ pair: 'TICK/PAGE', price: 1, timestamp: BASE });
    expect(got.slice(1).map((x) => x.id)).toEqual(ticks.slice(1).map((x) => x.id));
    const res = await fetch(`${app.url}/api/ticks?pair=TICK/PAGE&before=${BASE}&limit=5001`);
    expect(res.status).toBe(400);
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

  test('property: every cached view and state equals the reference aggregation, batch after batch, under late, out-of-order and repeated ticks, fills at any point and expiry', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (let round = 0; round < 6; round++) {
      prefix = uniquePrefix();
      cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
      const keys = new RedisKeys(prefix);
      const cap = [3, 5, 8][round % 3]!;
      const store = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: cap });
      // A second writer on the same keys (another process): its idea of which caches exist goes stale.
      const other = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: cap });
      const candles = new CandleStore(redis, keys);
      const pair = `PROP/CACHE${round}`;
      const accepted: Tick[] = [];
      const cached = new Set<Timeframe>();
      let now = BASE + Math.floor(random() * 86_400_000);
      let nextId = 1;
      const sent: Tick[] = [];
      const makeTick = (): Tick => {
        const r = random();
        if (r < 0.08 && sent.length > 0) return pick(sent); // resent: a duplicate
        let ts: number;
        if (r < 0.25) ts = BASE + Math.floor(random() * (now - BASE + 1)); // late, maybe far beyond the cache
        else if (r < 0.35) ts = now; // same millisecond: ties broken by identity
        else {
          now += pick([1, 7, 250, 1_000, 3_000, 5_000, 61_000, 3_600_000, 86_400_000]);
          ts = now;
        }
        const price = Number((1 + random()).toFixed(pick([1, 3, 5, 9])));
        const tick = t(pair, price, ts, random() < 0.5 ? `id-${nextId++ % 97}-${Math.floor(random() * 5)}` : undefined);
        sent.push(tick);
        return tick;
      };
      const check = async (when: string) => {
        for (const tf of TIMEFRAMES) {
          const raw = await redis.get(keys.historical(pair, tf));
          if (!cached.has(tf)) {
            expect(raw, `${when}: ${tf} not cached`).toBeNull();
            continue;
          }
          const all = aggregateStates(asCandleTicks(accepted), tf);
          expect(raw, `${when}: ${tf} view`).not.toBeNull();
          expect(JSON.parse(raw!), `${when}: ${tf} view`).toEqual(all.slice(-cap).map(toCandle));
          // The state behind it (closed and forming buckets) as the gateway reads it.
          const times = all.slice(-cap).map((c) => c.time);
          expect(await candles.readStates(pair, tf, times), `${when}: ${tf} states`).toEqual(all.slice(-cap));
          expect(await redis.pExpireTime(keys.candleState(pair, tf))).toBeOneOf([-2, await redis.pExpireTime(keys.historical(pair, tf))]);
        }
      };
      for (let step = 0; step < 60; step++) {
        const r = random();
        if (r < 0.15) {
          // A fill that read at an earlier seq, with ticks accepted before it installs.
          const tf = pick(TIMEFRAMES);
          const readAt = accepted.length;
          const gen = String((await redis.get(keys.candleGeneration(pair))) ?? '0');
          const states = aggregateStates(asCandleTicks(accepted), tf);
          const meanwhile = Array.from({ length: Math.floor(random() * 4) }, makeTick);
          for (const [i, seq] of (await other.write(meanwhile)).entries()) if (seq > 0) accepted.push(meanwhile[i]!);
          const given = random() < 0.5 ? states.slice(-cap) : states;
          expect(await candles.fill(pair, tf, { seq: readAt, generation: gen }, given, 60, cap)).toBe(true);
          cached.add(tf);
          await check(`round ${round} step ${step} after filling ${tf}`);
        } else if (r < 0.2 && cached.size > 0) {
          // Expiry: the view and its state go at one instant, as their TTLs make them.
          const tf = pick([...cached]);
          await redis.pExpire(keys.historical(pair, tf), 1);
          await redis.pExpire(keys.candleState(pair, tf), 1);
          await new Promise((res) => setTimeout(res, 5));
          cached.delete(tf);
        } else if (r < 0.23 && cached.size > 0) {
          const tf = pick([...cached]);
          await candles.invalidate(pair, [tf]);
          cached.delete(tf);
        } else {
          const batch = Array.from({ length: 1 + Math.floor(random() * 4) }, makeTick);
          const writer = random() < 0.8 ? store : other;
          const seqs = await writer.write(batch);
          const fresh = new Set(accepted.map(tickIdentity));
          seqs.forEach((seq, i) => {
            const dup = fresh.has(tickIdentity(batch[i]!)) || batch.slice(0, i).some((b) => tickIdentity(b) === tickIdentity(batch[i]!));
            expect(seq > 0, `tick ${i} of step ${step} accepted`).toBe(!dup);
            if (seq > 0) accepted.push(batch[i]!);
          });
          await check(`round ${round} step ${step} after ${batch.length} ticks`);
        }
      }
    }
  }, 120_000);

  test("a cache expires whole: closed candles made by a new bucket or a late tick take the view's expiry", async () => {
    prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const keys = new RedisKeys(prefix);
    const store = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: 200 });
    const candles = new CandleStore(redis, keys);
    for (const [pair, later] of [
      ['TTL/NEW', t('TTL/NEW', 1.2, BASE + 61_000)], // opens the next bucket
      ['TTL/LATE', t('TTL/LATE', 1.3, BASE - 60_000)], // lands in the bucket before
    ] as const) {
      const first = [t(pair, 1.1, BASE + 1000)];
      await store.write(first);
      // One bucket so far: the fill leaves no closed candle, so there is no cstate yet.
      expect(await candles.fill(pair, '1M', { seq: 1, generation: '0' }, aggregateStates(asCandleTicks(first), '1M'), 30, 200)).toBe(true);
      expect(await redis.exists(keys.candleState(pair, '1M'))).toBe(0);
      const viewExpiry = await redis.pExpireTime(keys.historical(pair, '1M'));
      expect(viewExpiry).toBeGreaterThan(Date.now());
      await store.write([later]);
      expect(await redis.hLen(keys.candleState(pair, '1M'))).toBe(1);
      expect(await redis.pExpireTime(keys.candleState(pair, '1M'))).toBe(viewExpiry);
      expect(await redis.pExpireTime(keys.historical(pair, '1M'))).toBe(viewExpiry);
      expect(JSON.parse((await redis.get(keys.historical(pair, '1M')))!)).toEqual(aggregate(asCandleTicks([...first, later]), '1M'));
    }
  });

  test('caches of the layout before the candle tail are dropped at start', async () => {
    prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const keys = new RedisKeys(prefix);
    await redis.sAdd(keys.pairs(), 'OLD/ONE');
    await redis.hSet(keys.candleState('OLD/ONE', '1M'), { _: '1', '1732300000': 'x' });
    await redis.set(keys.historical('OLD/ONE', '1M'), '[]', { EX: 60 });
    await redis.set(keys.historical('OLD/ONE', '5M'), '[]', { EX: 60 });
    await new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: 200 }).init();
    expect(await redis.exists([keys.candleState('OLD/ONE', '1M'), keys.historical('OLD/ONE', '1M')])).toBe(0);
    expect(await redis.exists(keys.historical('OLD/ONE', '5M'))).toBe(1); // no legacy state: not ours to judge
  });

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
