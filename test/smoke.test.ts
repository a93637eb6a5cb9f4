import { afterAll, beforeAll, expect, test } from 'vitest';
import { getJson, postTicks, startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

test('a posted tick is accepted once and then is a duplicate', async () => {
  const tick = { pair: 'EUR/USD_otc', price: 1.0823, timestamp: Date.now() };
  expect(await postTicks(t.url, tick)).toMatchObject({ status: 202, body: { accepted: 1, duplicates: 0 } });
  expect(await postTicks(t.url, tick)).toMatchObject({ status: 202, body: { accepted: 0, duplicates: 1 } });
  expect(await getJson(`${t.url}/api/ticks?pair=EUR/USD_otc`)).toEqual([{ ...tick, seq: 1 }]);
});
