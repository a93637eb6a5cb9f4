import { describe, expect, test } from 'vitest';
import { TIMEFRAMES } from '../../src/core/timeframe.js';
import { createTestSchema } from '../helpers/test-db.js';
import { deleteKeys, getJson, startTestApp, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

const HISTORY_ROWS = "SELECT count(*)::int AS n FROM historical_ticks WHERE feed_id LIKE 'sim-history-%'";

describe('simulator history on a first start', () => {
  test('a full chart on every timeframe up to 1H, with indicator values, within seconds; written once', async () => {
    const db = await createTestSchema();
    const prefix = uniquePrefix();
    cleanups.push(() => db.drop(), () => deleteKeys(TEST_REDIS_URL, prefix));
    const env = { FEED: 'simulated', ASSETS: 'EUR/USD_otc,USD/JPY_otc', TICKS_PER_MINUTE: '1000', SIMULATOR_HISTORY_HOURS: '240' };
    const started = Date.now();
    const first = await startTestApp(env, { db, prefix, keepKeys: true });
    // The page may ask before the history is in and so fill the cache with a candle or two: the
    // history must drop that cache, or 1H would stay short below.
    await getJson(`${first.url}/api/candles?pair=EUR/USD_otc&timeframe=1H`);
    for (const pair of ['EUR/USD_otc', 'USD/JPY_otc']) {
      await waitFor(async () => (await getJson(`${first.url}/api/candles?pair=${pair}&timeframe=1H`)).candles.length === 200, 20_000, `${pair} 1H history`);
    }
    console.log(`simulator history in ${Date.now() - started} ms after start`);
    for (const tf of TIMEFRAMES.slice(0, TIMEFRAMES.indexOf('1H') + 1)) {
      const body = await getJson(`${first.url}/api/candles?pair=USD/JPY_otc&timeframe=${tf}`);
      expect(body.candles, tf).toHaveLength(200);
      const ema = await getJson(`${first.url}/api/indicators?pair=USD/JPY_otc&timeframe=${tf}&name=ema&period=20`);
      expect(ema.values.length, `EMA on ${tf}`).toBeGreaterThanOrEqual(180);
      const rsi = await getJson(`${first.url}/api/indicators?pair=USD/JPY_otc&timeframe=${tf}&name=rsi&period=14`);
      expect(rsi.values.length, `RSI on ${tf}`).toBeGreaterThanOrEqual(180);
    }
    const rows = await db.count(HISTORY_ROWS);
    expect(rows).toBeGreaterThan(25_000);
    await first.close();

    // A second start has stored ticks for both pairs: nothing more is written.
    const second = await startTestApp(env, { db, prefix, keepKeys: true });
    cleanups.push(() => second.close());
    await new Promise((r) => setTimeout(r, 1500));
    expect(await db.count(HISTORY_ROWS)).toBe(rows);
  }, 60_000);
});
