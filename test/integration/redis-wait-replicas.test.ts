import { afterEach, describe, expect, test } from 'vitest';
import { TickCollector } from '../helpers/socket-client.js';
import { postTicks, startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * REDIS_WAIT_REPLICAS against the shared single Redis, which has no replica: WAIT can never
 * confirm, so nothing may be acknowledged or shown live. (The cluster test covers replicas that
 * do confirm, through a failover.)
 */

let app: TestApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('REDIS_WAIT_REPLICAS', () => {
  test('too few replicas: the post is refused with a 503 saying so, and no subscriber sees the tick', async () => {
    app = await startTestApp({ REDIS_WAIT_REPLICAS: '1' });
    const sub = await TickCollector.connect(app.url);
    try {
      expect(await sub.subscribe('EUR/USD_otc')).toMatchObject({ ok: true });
      const res = await postTicks(app.url, [{ pair: 'EUR/USD_otc', price: 1.1, timestamp: Date.now() - 500, id: 'w-1' }]);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(JSON.stringify(res.body)).toMatch(/confirmed the write on 0 of 1 replicas \(REDIS_WAIT_REPLICAS\)/);
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.ticks('EUR/USD_otc')).toEqual([]);
    } finally {
      sub.close();
    }
  }, 30_000);
});
