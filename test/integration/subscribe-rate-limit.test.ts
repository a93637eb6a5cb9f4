import { expect, test } from 'vitest';
import { SUBSCRIBE_LIMIT } from '../../src/gateway/subscribe-rate-limit.js';
import type { SubscribeAck } from '../../src/shared/events.js';
import { collectorStarter } from '../helpers/socket-client.js';
import { appStarter, postTicks, waitFor, type TestApp } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();
const app = appStarter(cleanups, { BATCH_INTERVAL_MS: '200' });
const collector = collectorStarter(cleanups);
/** One tick a minute for `minutes` minutes, ending a minute ago. */
async function history(t: TestApp, pair: string, minutes: number): Promise<void> {
  const end = Date.now() - 60_000;
  const ticks = Array.from({ length: minutes }, (_, i) => ({ pair, price: 1 + Math.sin(i / 7) / 100, timestamp: end - (minutes - i) * 60_000 }));
  expect((await postTicks(t.url, ticks)).body.accepted).toBe(minutes);
}
const TEN = ['sma', 'ema', 'wma', 'rsi', 'macd', 'bollinger', 'stochastic', 'atr', 'cci', 'adx'].map((name) => ({ name }));

test('a socket repeating a costly subscribe is answered "retry in ..." after its burst; others are not affected', async () => {
  const t = await app();
  await history(t, 'EUR/USD_otc', 300);
  const greedy = await collector(t.url);
  const started = Date.now();
  const acks = (await Promise.all(
    Array.from({ length: 200 }, () => greedy.socket.timeout(30_000).emitWithAck('subscribe', { pair: 'EUR/USD_otc', timeframe: '1M', indicators: TEN })),
  )) as SubscribeAck[];
  const seconds = (Date.now() - started) / 1000;
  const ok = acks.filter((a) => a.ok);
  const refused = acks.filter((a): a is Extract<SubscribeAck, { ok: false }> => !a.ok);
  // Each costs 11 tokens: the burst takes 9, and the refill at most one more a second.
  const cost = 1 + TEN.length;
  expect(ok.length).toBeGreaterThanOrEqual(Math.floor(SUBSCRIBE_LIMIT.burst / cost));
  expect(ok.length).toBeLessThanOrEqual(Math.floor((SUBSCRIBE_LIMIT.burst + seconds * SUBSCRIBE_LIMIT.perSecond) / cost) + 1);
  expect(ok[0]).toMatchObject({ ok: true, pair: 'EUR/USD_otc', timeframe: '1M' });
  expect(Object.keys((ok[0] as Extract<SubscribeAck, { ok: true }>).indicators ?? {})).toHaveLength(10);
  expect(refused.length).toBe(200 - ok.length);
  for (const r of refused) {
    expect(r.error).toMatch(/^too many subscribes on this connection: retry in \d+\.\d s$/);
    expect(r.retryAfterMs).toBeGreaterThan(0);
    expect(r.retryAfterMs).toBeLessThanOrEqual(Math.ceil((cost / SUBSCRIBE_LIMIT.perSecond) * 1000));
  }
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  expect(metrics).toContain(`quflx_subscribes_rate_limited_total ${refused.length}`);

  // Another socket is not held back by it.
  const other = await collector(t.url);
  expect(await other.subscribe('EUR/USD_otc', '1M')).toMatchObject({ ok: true });
  // Waiting as told is enough.
  await new Promise((r) => setTimeout(r, refused.at(-1)!.retryAfterMs! + 50));
  expect(await greedy.socket.timeout(10_000).emitWithAck('subscribe', { pair: 'EUR/USD_otc', timeframe: '1M', indicators: TEN })).toMatchObject({ ok: true });
});

test('a page switching pairs and timeframes quickly is never refused', async () => {
  const t = await app();
  const pairs = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc'];
  for (const p of pairs) await history(t, p, 30);
  const page = await collector(t.url);
  // Opening: the pair list follows every pair, the chart one of them.
  const opening = await Promise.all(pairs.map((pair) => page.socket.timeout(10_000).emitWithAck('subscribe', { pair })));
  expect(opening.every((a) => a.ok)).toBe(true);
  // Then 40 switches, as fast as the answers come: chart subscribe with two indicators, the old chart dropped.
  const tfs = ['1M', '5M', '15S', '1H'];
  for (let i = 0; i < 40; i++) {
    const ack = await page.socket.timeout(10_000).emitWithAck('subscribe', {
      pair: pairs[i % pairs.length]!,
      timeframe: tfs[i % tfs.length]!,
      indicators: [{ name: 'rsi' }, { name: 'ema', period: 50 }],
    });
    expect(ack, `switch ${i}`).toMatchObject({ ok: true });
  }
  await waitFor(async () => (await (await fetch(`${t.url}/metrics`)).text()).includes('quflx_subscribes_rate_limited_total 0'), 5000, 'no refusals');
});
