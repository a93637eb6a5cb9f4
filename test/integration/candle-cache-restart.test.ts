import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aggregate, aggregateStates, type CandleTick } from '../../src/core/candle.js';
import { tickIdentity } from '../../src/core/identity.js';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { createLogger } from '../../src/observability/logger.js';
import { CandleStore } from '../../src/redis/candle-store.js';
import { closeRedis, connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { TickStore } from '../../src/redis/tick-store.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { createTestSchema } from '../helpers/test-db.js';
import { deleteKeys, getJson, postTicks, startTestApp, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';

// The candle caches are written for replicas but not for Redis's append-only file (most of a warm
// tick's cost there). These tests make the caches stale the way a restart does and check that no
// stale view is ever served, and that the caches come back current.

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();
let redis: RedisClient;
beforeAll(async () => {
  redis = await connectRedis(TEST_REDIS_URL, 'candle-cache-restart-test', log);
});
afterAll(async () => redis.close());

const PAIR = 'EUR/USD_otc';
const asCandleTicks = (ticks: Tick[]): CandleTick[] => ticks.map((t) => ({ price: t.price, timestamp: t.timestamp, key: tickIdentity(t) }));

/** `n` ticks, one every 7 s from `start`, prices as a walk. */
function walk(n: number, start: number, from = 1.1): Tick[] {
  let price = from;
  return Array.from({ length: n }, (_, i) => {
    price = Number((price + ((((i * 7) % 11) - 5) / 100_000)).toFixed(5));
    return { pair: PAIR, price, timestamp: asEpochMs(start + i * 7000) };
  });
}

/** Redis's AOF rewrite, finished: the file's base then holds every key as it is now, caches too. */
async function rewriteAof(client: RedisClient): Promise<void> {
  await client.sendCommand(['BGREWRITEAOF']);
  await waitFor(async () => {
    const info = await client.info('persistence');
    return /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info) && /aof_last_bgrewrite_status:ok/.test(info);
  }, 20_000, 'the AOF rewrite');
}

describe('candle caches after Redis restarts from its append-only file', () => {
  test('the restored caches are older than the ticks: never served, dropped at start, filled again current', async () => {
    const proc = await RedisProcess.start('always');
    cleanups.push(() => proc.stop());
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    const prefix = uniquePrefix();
    const keys = new RedisKeys(prefix);
    const env = { REDIS_URL: proc.url, BATCH_INTERVAL_MS: '200', CANDLE_CACHE_TTL_S: '600' };
    const start = Date.now() - 3_600_000;
    const a = walk(40, start);
    const b = walk(30, start + 40 * 7000, 1.1003);

    const first = await startTestApp(env, { db, prefix, keepKeys: true });
    cleanups.push(() => first.close());
    expect((await postTicks(first.url, a)).body.accepted).toBe(a.length);
    expect((await getJson(`${first.url}/api/candles?pair=${PAIR}&timeframe=1M&limit=200`)).candles).toEqual(aggregate(asCandleTicks(a), '1M'));
    const direct = await connectRedis(proc.url, 'restart-test', log);
    cleanups.push(() => closeRedis(direct));
    await rewriteAof(direct);
    // The rewrite's base holds the cache as of `a`; `b` updates it in memory only.
    expect((await postTicks(first.url, b)).body.accepted).toBe(b.length);
    const current = aggregate(asCandleTicks([...a, ...b]), '1M');
    expect(JSON.parse((await direct.get(keys.historical(PAIR, '1M')))!)).toEqual(current);
    await waitFor(async () => (await db.count()) === a.length + b.length, 30_000, 'every tick stored');
    await first.close();
    await closeRedis(direct);

    await proc.kill();
    await proc.startServer();
    const after = await connectRedis(proc.url, 'restart-test-after', log);
    cleanups.push(() => closeRedis(after));
    // What the file gave back: every tick (seq), and the cache as of the rewrite.
    expect(Number(await after.get(keys.seq(PAIR)))).toBe(a.length + b.length);
    expect(JSON.parse((await after.get(keys.historical(PAIR, '1M')))!)).toEqual(aggregate(asCandleTicks(a), '1M'));
    // QuFLX never reads it ...
    expect(await new CandleStore(after, keys).readView(PAIR, '1M')).toBeNull();

    // ... and drops it at start, so a plain GET finds nothing rather than old candles.
    const second = await startTestApp(env, { db, prefix, keepKeys: true });
    cleanups.push(() => second.close());
    expect(await after.exists([keys.historical(PAIR, '1M'), keys.candleState(PAIR, '1M'), keys.candleTail(PAIR)])).toBe(0);
    const read = await getJson(`${second.url}/api/candles?pair=${PAIR}&timeframe=1M&limit=200`);
    expect(read.source).toBe('database');
    expect(read.candles).toEqual(current);
    // Filled again, the cache is kept current by new ticks.
    const c = walk(5, start + 70 * 7000, 1.1001);
    expect((await postTicks(second.url, c)).body.accepted).toBe(c.length);
    expect(JSON.parse((await after.get(keys.historical(PAIR, '1M')))!)).toEqual(aggregate(asCandleTicks([...a, ...b, ...c]), '1M'));
  }, 90_000);

  test('an import\'s drop survives the restart: the dropped view stays gone, fills from before it stay void, the other view is served and kept current', async () => {
    const proc = await RedisProcess.start('always');
    cleanups.push(() => proc.stop());
    const keys = new RedisKeys(uniquePrefix());
    const options = { tickBufferSize: 1000, candleCacheSize: 200 };
    const ticks = walk(30, Date.now() - 600_000);
    const before = await connectRedis(proc.url, 'restart-drop-test', log);
    cleanups.push(() => closeRedis(before));
    const store = new TickStore(before, keys, options);
    await store.init();
    await store.write(ticks.slice(0, 10));
    const at = { seq: 10, generation: '0' };
    for (const tf of ['1M', '5M'] as const) expect(await new CandleStore(before, keys).fill(PAIR, tf, at, aggregateStates(asCandleTicks(ticks.slice(0, 10)), tf), 600, 200)).toBe(true);
    await rewriteAof(before);
    // The import's drop comes after the rewrite: only the append-only file's tail has it.
    expect(await new CandleStore(before, keys).invalidate(PAIR, ['1M'])).toBe(2);
    await closeRedis(before);

    await proc.kill();
    await proc.startServer();
    const after = await connectRedis(proc.url, 'restart-drop-test-after', log);
    cleanups.push(() => closeRedis(after));
    const candles = new CandleStore(after, keys);
    expect(await after.exists([keys.historical(PAIR, '1M'), keys.candleState(PAIR, '1M')])).toBe(0);
    expect(await candles.readView(PAIR, '1M')).toBeNull();
    // No tick came after the rewrite: the 5M view it holds is current, and served.
    expect(await candles.dropStale(PAIR)).toBe(0);
    expect(await candles.readView(PAIR, '5M')).toEqual(aggregate(asCandleTicks(ticks.slice(0, 10)), '5M'));
    // A fill that read the database before the import is void.
    expect(await candles.fill(PAIR, '1M', at, aggregateStates(asCandleTicks(ticks.slice(0, 10)), '1M'), 600, 200)).toBe(false);

    // New ticks keep 5M current and do not bring the dropped 1M view back.
    await new TickStore(after, keys, options).write(ticks.slice(10, 20));
    expect(await after.exists([keys.historical(PAIR, '1M')])).toBe(0);
    expect(JSON.parse((await after.get(keys.historical(PAIR, '5M')))!)).toEqual(aggregate(asCandleTicks(ticks.slice(0, 20)), '5M'));
    // A fill that read after the import installs 1M, current.
    expect(await candles.fill(PAIR, '1M', { seq: 20, generation: '1' }, aggregateStates(asCandleTicks(ticks.slice(0, 20)), '1M'), 600, 200)).toBe(true);
    await new TickStore(after, keys, options).write(ticks.slice(20));
    for (const tf of ['1M', '5M'] as const) expect(JSON.parse((await after.get(keys.historical(PAIR, tf)))!)).toEqual(aggregate(asCandleTicks(ticks), tf));
  }, 60_000);

  test('ingest drops a stale pair\'s caches instead of updating them; a fill with stale caches beside it drops them first', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const keys = new RedisKeys(prefix);
    const store = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: 200 });
    await store.init();
    const candles = new CandleStore(redis, keys);
    const ticks = walk(30, Date.now() - 600_000);
    await store.write(ticks.slice(0, 10));
    const at = { seq: 10, generation: '0' };
    for (const tf of ['1M', '5M'] as const) expect(await candles.fill(PAIR, tf, at, aggregateStates(asCandleTicks(ticks.slice(0, 10)), tf), 600, 200)).toBe(true);
    expect(await candles.readView(PAIR, '1M')).toEqual(aggregate(asCandleTicks(ticks.slice(0, 10)), '1M'));

    // As a restart leaves it: the caches say seq 9 while the pair is at 10.
    await redis.hSet(keys.candleTail(PAIR), 'q', '9');
    expect(await candles.readView(PAIR, '1M')).toBeNull();
    expect(await candles.readStates(PAIR, '1M', [Math.floor(ticks[0]!.timestamp / 60_000) * 60])).toEqual([]);
    await store.write(ticks.slice(10, 20));
    expect(await redis.exists([keys.candleTail(PAIR), keys.historical(PAIR, '1M'), keys.candleState(PAIR, '1M'), keys.historical(PAIR, '5M')])).toBe(0);

    // Two caches, then stale; a fill of a third timeframe drops the two and installs its own.
    for (const tf of ['1M', '5M'] as const) expect(await candles.fill(PAIR, tf, { seq: 20, generation: '0' }, aggregateStates(asCandleTicks(ticks.slice(0, 20)), tf), 600, 200)).toBe(true);
    await redis.hSet(keys.candleTail(PAIR), 'q', '19');
    expect(await candles.fill(PAIR, '15M', { seq: 20, generation: '0' }, aggregateStates(asCandleTicks(ticks.slice(0, 20)), '15M'), 600, 200)).toBe(true);
    expect(await redis.exists([keys.historical(PAIR, '1M'), keys.historical(PAIR, '5M')])).toBe(0);
    expect(await candles.readView(PAIR, '15M')).toEqual(aggregate(asCandleTicks(ticks.slice(0, 20)), '15M'));
    await store.write(ticks.slice(20));
    expect(JSON.parse((await redis.get(keys.historical(PAIR, '15M')))!)).toEqual(aggregate(asCandleTicks(ticks), '15M'));
    // A current cache is left alone by the check.
    expect(await candles.dropStale(PAIR)).toBe(0);
  });
});
