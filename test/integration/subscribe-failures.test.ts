import { expect, test } from 'vitest';
import { SUBSCRIBE_RETRY_MS } from '../../src/gateway/socket-gateway.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { collectorStarter, makeTicks } from '../helpers/socket-client.js';
import { proxyToTestDatabase } from '../helpers/tcp-proxy.js';
import { postTicks, startTestApp, TEST_DATABASE_URL, waitFor } from '../helpers/test-app.js';
import { createTestSchema } from '../helpers/test-db.js';

const cleanups = cleanupsAfterEach();
const collector = collectorStarter(cleanups);

test('a subscribe the database fails is answered "ask again in ...", not refused; asked again once it is back, it is answered in full', async () => {
  const { proxy, urlFor } = await proxyToTestDatabase(TEST_DATABASE_URL);
  cleanups.push(() => proxy.close());
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  const t = await startTestApp({ DATABASE_URL: urlFor(db.schema), DATABASE_QUERY_TIMEOUT_MS: '1000', BATCH_INTERVAL_MS: '200' }, { db });
  cleanups.push(() => t.close());
  const ticks = makeTicks('EUR/USD_otc', 30, Date.now() - 30 * 60_000);
  expect((await postTicks(t.url, ticks)).body.accepted).toBe(30);
  await waitFor(async () => (await db.count()) === 30, 30_000, 'the ticks stored');

  await proxy.cut();
  const c = await collector(t.url);
  // No candle cache yet: the chart's candles are read from the database, which is gone.
  const failed = await c.subscribe('EUR/USD_otc', '1M');
  expect(failed).toMatchObject({ ok: false, retryAfterMs: SUBSCRIBE_RETRY_MS });
  expect((failed as { error: string }).error).toMatch(/^subscribe failed: /);

  await proxy.restore();
  const answered = (await waitFor(async () => {
    const ack = await c.subscribe('EUR/USD_otc', '1M');
    return ack.ok ? ack : null;
  }, 20_000, 'the subscribe answered'))!;
  expect(answered.candles.map((b) => b.volume).reduce((a, b) => a + b, 0)).toBe(30);
  expect(answered.seq).toBe(30);
}, 60_000);
