import { expect, test } from 'vitest';
import { makeTicks, TickCollector } from '../helpers/socket-client.js';
import { deleteKeys, postTicks, startTestApp, TEST_REDIS_URL, uniquePrefix, waitFor, type TestApp } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

/** The shared test Redis, database `db`. */
function onDatabase(db: number): string {
  const u = new URL(TEST_REDIS_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

test('deployments on databases 5 and 6 of one Redis, with the same key prefix, each hear only their own ticks', async () => {
  const prefix = uniquePrefix();
  const apps: TestApp[] = [];
  for (const db of [5, 6]) {
    const url = onDatabase(db);
    cleanups.push(() => deleteKeys(url, prefix)); // after the app, whatever happens
    const t = await startTestApp({ REDIS_URL: url }, { prefix });
    cleanups.push(() => t.close());
    apps.push(t);
  }
  const [five, six] = apps as [TestApp, TestApp];
  const c5 = await TickCollector.connect(five.url);
  cleanups.push(() => c5.close());
  const c6 = await TickCollector.connect(six.url);
  cleanups.push(() => c6.close());
  await c5.subscribe('EUR/USD_otc');
  await c6.subscribe('EUR/USD_otc');

  const base = Date.now() - 30_000;
  const mine5 = makeTicks('EUR/USD_otc', 300, base);
  const mine6 = makeTicks('EUR/USD_otc', 500, base + 10_000).map((x) => ({ ...x, price: x.price + 1 }));
  const [r5, r6] = await Promise.all([postTicks(five.url, mine5), postTicks(six.url, mine6)]);
  expect([r5.body.accepted, r6.body.accepted]).toEqual([300, 500]);

  await waitFor(() => c5.ticks('EUR/USD_otc').length >= 300 && c6.ticks('EUR/USD_otc').length >= 500, 10_000, 'own ticks');
  await new Promise((r) => setTimeout(r, 300)); // nothing more may come
  const key = (x: { timestamp: number; price: number }) => `${x.timestamp}:${x.price}`;
  expect(c5.ticks('EUR/USD_otc').map(key)).toEqual(mine5.map(key));
  expect(c6.ticks('EUR/USD_otc').map(key)).toEqual(mine6.map(key));
  expect(c5.ticks('EUR/USD_otc').map((x) => x.seq)).toEqual(mine5.map((_, i) => i + 1));
  expect(c6.ticks('EUR/USD_otc').map((x) => x.seq)).toEqual(mine6.map((_, i) => i + 1));
});
