import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CandleService } from '../../src/candles/candle-service.js';
import type { Candle } from '../../src/core/candle.js';
import { ValidationError } from '../../src/core/errors.js';
import { defaultSpec, INDICATOR_NAMES, parseIndicatorRequest, warmupCandles } from '../../src/core/indicators/catalog.js';
import { computeIndicator, type IndicatorPoint, type IndicatorValue } from '../../src/core/indicators/indicator-series.js';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { createHttpServer } from '../../src/http/http-server.js';
import { indicatorValues, registerIndicatorRoutes } from '../../src/http/routes/indicators.js';
import { createLogger } from '../../src/observability/logger.js';
import { CandleStore } from '../../src/redis/candle-store.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { getJson, postTicks, startTestApp, TEST_REDIS_URL, waitFor, type TestApp } from '../helpers/test-app.js';
import type { CandleEvent } from '../../src/shared/events.js';

/**
 * The indicator route against the real Redis and PostgreSQL: a QuFLX test app takes the ticks
 * (and serves /api/candles); the route runs on its own Fastify instance over a CandleService on
 * the app's database and Redis keys, until src/app.ts registers it.
 */
const log = createLogger('silent');
const PAIR = 'IND/TEST_otc';
const MINUTES = 400;
const BASE = Date.UTC(2024, 10, 22, 8, 0, 0); // a minute (and hour) boundary

/** Ticks over `minutes` minutes, three per minute: a wavy walk, so trends and reversals both occur. */
function minuteTicks(pair: string, minutes: number, start = BASE): Tick[] {
  const out: Tick[] = [];
  let price = 1.0823;
  for (let m = 0; m < minutes; m++) {
    for (let k = 0; k < 3; k++) {
      price = Number((price + Math.sin(m / 17 + k) * 0.00007 + (((m * 7 + k * 13) % 11) - 5) / 200_000).toFixed(5));
      out.push({ pair, price, timestamp: asEpochMs(start + m * 60_000 + k * 20_000 + 7) });
    }
  }
  return out;
}

function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-3);
}
const asRecord = (v: IndicatorValue): Record<string, number> => (typeof v === 'number' ? { value: v } : v);
function expectNearPoints(actual: IndicatorPoint[], expected: IndicatorPoint[], what: string): void {
  expect(actual.map((p) => p.time), what).toEqual(expected.map((p) => p.time));
  expected.forEach((e, i) => {
    const a = asRecord(actual[i]!.value);
    const x = asRecord(e.value);
    expect(Object.keys(a).sort(), what).toEqual(Object.keys(x).sort());
    for (const k of Object.keys(x)) expect(near(a[k]!, x[k]!), `${what} ${k} at ${e.time}: ${a[k]} vs ${x[k]}`).toBe(true);
  });
}

let app: TestApp;
let redis: RedisClient;
let service: CandleService;
let http: FastifyInstance;
let url: string;
let all: Candle[];

beforeAll(async () => {
  app = await startTestApp({ BATCH_INTERVAL_MS: '200', CANDLE_CACHE_SIZE: '200' });
  redis = await connectRedis(TEST_REDIS_URL, 'indicators-test', log);
  service = new CandleService(new CandleStore(redis, new RedisKeys(app.prefix)), app.db.pool, { cacheSize: 200, cacheTtlS: 600 });
  http = await createHttpServer(log);
  registerIndicatorRoutes(http, { candles: service });
  url = await http.listen({ port: 0, host: '127.0.0.1' });

  const ticks = minuteTicks(PAIR, MINUTES);
  expect((await postTicks(app.url, ticks)).body).toEqual({ accepted: ticks.length, duplicates: 0 });
  const body = await getJson(`${app.url}/api/candles?pair=${encodeURIComponent(PAIR)}&limit=5000`);
  all = body.candles as Candle[];
  expect(all).toHaveLength(MINUTES);
});

afterAll(async () => {
  await http?.close();
  await redis?.close();
  await app?.close();
});

const get = (query: string) => getJson(`${url}/api/indicators?pair=${encodeURIComponent(PAIR)}&${query}`);

describe('GET /api/indicators', () => {
  test.each([
    ['name=rsi', 'whole history'],
    ['name=macd', 'whole history'],
    ['name=bollinger', 'warm-up window'],
    ['name=RSI&period=5', 'warm-up window'],
    ['name=macd&fast=3&slow=6&signal=4', 'warm-up window'],
    ['name=stochastic&smooth=3', 'warm-up window'],
    ['name=atr&period=7', 'warm-up window'],
    ['name=adx&period=5', 'warm-up window'],
    ['name=sma&period=50', 'warm-up window'],
  ])('%s&limit=50: the latest 50 values equal a computation over all the candles (%s)', async (query, reads) => {
    const spec = parseIndicatorRequest(Object.fromEntries(new URLSearchParams(query)));
    // Either the request reads fewer candles than the pair has (limit + warm-up), or all of them.
    expect(50 + warmupCandles(spec) < MINUTES).toBe(reads === 'warm-up window');
    const body = await get(`${query}&limit=50`);
    expect(body).toMatchObject({ name: spec.name, pair: PAIR, timeframe: '1M', params: spec.params });
    expect(body.values).toHaveLength(50);
    expectNearPoints(body.values, computeIndicator(spec, all).slice(-50), query);
  });

  test('value shapes: MACD macd/signal/histogram, Bollinger upper/middle/lower, single lines a number; defaults', async () => {
    const macd = await get('name=macd&limit=5');
    expect(macd.params).toEqual({ fast: 12, slow: 26, signal: 9 });
    for (const v of macd.values) {
      expect(Object.keys(v.value).sort()).toEqual(['histogram', 'macd', 'signal']);
      expect(v.value.histogram).toBeCloseTo(v.value.macd - v.value.signal, 12);
    }
    const bb = await get('name=bollinger&limit=5');
    expect(bb.params).toEqual({ period: 20, stddev: 2 });
    for (const v of bb.values) {
      expect(Object.keys(v.value).sort()).toEqual(['lower', 'middle', 'upper']);
      expect(v.value.upper).toBeGreaterThan(v.value.middle);
      expect(v.value.lower).toBeLessThan(v.value.middle);
    }
    const rsi = await get('name=rsi&limit=5');
    expect(rsi.values.map((v: { time: number }) => v.time)).toEqual(all.slice(-5).map((c) => c.time));
    for (const v of rsi.values) expect(v.value).toEqual(expect.any(Number));
    // limit defaults to 200; fewer values than that when the history is shorter.
    expect((await get('name=sma')).values).toHaveLength(200);
    expect((await get('name=ema&period=20&limit=5000')).values).toHaveLength(MINUTES - 19);
  });

  test('every catalog indicator answers with values aligned to candle times', async () => {
    for (const name of INDICATOR_NAMES) {
      const body = await get(`name=${name}&limit=10`);
      expect(body.values, name).toHaveLength(10);
      expect(body.values.map((v: { time: number }) => v.time)).toEqual(all.slice(-10).map((c) => c.time));
      expectNearPoints(body.values, computeIndicator(defaultSpec(name), all).slice(-10), name);
    }
  });

  test('another timeframe: computed over that timeframe\'s candles', async () => {
    const fiveMinute = (await getJson(`${app.url}/api/candles?pair=${encodeURIComponent(PAIR)}&timeframe=5M&limit=5000`)).candles as Candle[];
    expect(fiveMinute).toHaveLength(MINUTES / 5);
    const body = await get('name=ema&period=10&timeframe=5m&limit=30');
    expect(body.timeframe).toBe('5M');
    expectNearPoints(body.values, computeIndicator(defaultSpec('ema', { period: 10 }), fiveMinute).slice(-30), '5M ema');
  });

  test('a pair without candles has no values', async () => {
    expect(await getJson(`${url}/api/indicators?pair=NONE&name=rsi`)).toEqual({ name: 'rsi', pair: 'NONE', timeframe: '1M', params: { period: 14 }, values: [] });
  });

  test('bad requests are 400 with details naming the field and what is accepted', async () => {
    const cases: [string, string, RegExp][] = [
      ['name=nope', 'name', /is not an indicator; must be one of sma, ema, .*rsi.*macd.*bollinger.* \(any case\)/],
      ['period=14', 'name', /is required: one of sma, ema/],
      ['name=rsi&period=0', 'period', /whole number from 2 to 200 \(default 14\)/],
      ['name=rsi&period=x', 'period', /whole number from 2 to 200/],
      ['name=bollinger&stddev=-1', 'stddev', /number from 0.1 to 10/],
      ['name=macd&fast=30&slow=20', 'fast', /less than slow/],
      ['name=rsi&limit=0', 'limit', /1 to 5000/],
      ['name=rsi&limit=5001', 'limit', /1 to 5000/],
      ['name=rsi&timeframe=7M', 'timeframe', /5S, 15S, 30S, 1M/],
    ];
    for (const [query, field, message] of cases) {
      const res = await fetch(`${url}/api/indicators?pair=${encodeURIComponent(PAIR)}&${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: string; details: unknown[] };
      expect(body.error, query).toBe(`Invalid query parameter "${field}"`);
      expect(body.details, query).toEqual([{ index: 0, field, message: expect.stringMatching(message) }]);
    }
    // No pair, and everything else wrong too: one answer naming every field.
    const res = await fetch(`${url}/api/indicators?name=rsi&period=1&limit=ten`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { details: { field: string }[] };
    expect(body.details.map((d) => d.field)).toEqual(['pair', 'limit', 'period']);
  });

  test('indicatorValues is the route without HTTP (for the app and for tests)', async () => {
    const direct = await indicatorValues(service, { pair: PAIR, name: 'rsi', limit: '3' });
    expect(direct).toEqual(await get('name=rsi&limit=3'));
    await expect(indicatorValues(service, { pair: PAIR, name: 'zzz' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('live indicators over Socket.IO', () => {
  test('subscribe with indicators: history in the ack, values with each candle event, equal to recomputation', async () => {
    const { TickCollector } = await import('../helpers/socket-client.js');
    const app = await startTestApp({ BATCH_INTERVAL_MS: '200' });
    try {
      const base = Date.UTC(2024, 10, 22, 10, 0, 0);
      const ticks = Array.from({ length: 240 }, (_, i) => ({
        pair: 'EUR/USD_otc',
        price: Number((1.1 + Math.sin(i / 7) / 1000 + (i % 5) / 100_000).toFixed(5)),
        timestamp: base + Math.floor(i / 2) * 60_000 + (i % 2) * 20_000,
      }));
      await postTicks(app.url, ticks);
      const c = await TickCollector.connect(app.url);
      const events: CandleEvent[] = [];
      c.socket.on('candle', (e) => events.push(e));
      const ack = await c.socket.timeout(5000).emitWithAck('subscribe', {
        pair: 'EUR/USD_otc',
        timeframe: '1M',
        indicators: [{ name: 'RSI', period: 14 }, { name: 'macd' }],
      });
      if (!ack.ok) throw new Error(ack.error);
      expect(Object.keys(ack.indicators ?? {}).sort()).toEqual(['macd(fast=12,signal=9,slow=26)', 'rsi(period=14)']);
      const rsiSpec = defaultSpec('rsi', { period: 14 });
      expect(ack.indicators!['rsi(period=14)']).toEqual(computeIndicator(rsiSpec, ack.candles));

      // A tick in the forming minute, then one opening a new minute.
      const more = [
        { pair: 'EUR/USD_otc', price: 1.2, timestamp: base + 119 * 60_000 + 50_000 },
        { pair: 'EUR/USD_otc', price: 1.0, timestamp: base + 120 * 60_000 + 1 },
      ];
      for (const x of more) await postTicks(app.url, x);
      await waitFor(() => events.length >= 2, 5000, 'candle events');
      const all = (await getJson(`${app.url}/api/candles?pair=EUR/USD_otc&limit=5000`)).candles as Candle[];
      const expected = computeIndicator(rsiSpec, all);
      for (const e of events) {
        const want = expected.find((p) => p.time === e.candle.time)!.value as number;
        const got = e.indicators!['rsi(period=14)'] as number;
        expect(Math.abs(got - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
        expect(e.indicators!['macd(fast=12,signal=9,slow=26)']).toEqual(expect.objectContaining({ macd: expect.any(Number), signal: expect.any(Number) }));
      }
      // Bad indicator requests are refused with a clear message.
      const bad = await c.socket.timeout(5000).emitWithAck('subscribe', { pair: 'EUR/USD_otc', timeframe: '1M', indicators: [{ name: 'nope' }] });
      expect(bad).toEqual({ ok: false, error: expect.stringMatching(/indicators\[0\]: name .*sma/) });
      const noTf = await c.socket.timeout(5000).emitWithAck('subscribe', { pair: 'EUR/USD_otc', indicators: [{ name: 'rsi' }] });
      expect(noTf).toEqual({ ok: false, error: 'indicators need a timeframe' });
      c.close();
    } finally {
      await app.close();
    }
  });
});
