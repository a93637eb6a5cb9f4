import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TlsRedis } from '../helpers/redis-tls.js';
import { getJson, postTicks, startTestApp, waitFor } from '../helpers/test-app.js';

/** Redis Cloud as it is reached: `rediss://` with an ACL user, against a local TLS redis-server whose CA the test made. */

let tls: TlsRedis;
beforeAll(async () => {
  tls = await TlsRedis.start({ user: 'quflx', password: 's3cret pass/word' });
}, 30_000);
afterAll(async () => {
  await tls?.stop();
});

describe('rediss:// with an ACL user', () => {
  test('QuFLX runs over TLS with REDIS_TLS_CA: a tick goes in, is served back and stored', async () => {
    const app = await startTestApp({ REDIS_URL: tls.url, REDIS_TLS_CA: tls.caFile, BATCH_INTERVAL_MS: '100' }, { keepKeys: true });
    try {
      const tick = { pair: 'EUR/USD_otc', price: 1.2345, timestamp: Date.now() - 1000, id: 'tls-1' };
      const res = await postTicks(app.url, [tick]);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ accepted: 1, duplicates: 0 });
      const recent = await getJson(`${app.url}/api/ticks?pair=EUR/USD_otc&limit=5`);
      expect(recent.map((t: { id: string }) => t.id)).toEqual(['tls-1']);
      await waitFor(async () => (await app.db.count()) === 1, 30_000, 'tick stored');
      expect((await getJson(`${app.url}/health`)).redis.status).toBe('up');
    } finally {
      await app.close();
    }
  }, 60_000);

  test('a wrong password is a clear error at start, naming REDIS_URL', async () => {
    await expect(startTestApp({ REDIS_URL: tls.urlWith('quflx', 'wrong'), REDIS_TLS_CA: tls.caFile })).rejects.toThrow(
      /REDIS_URL: Redis at 127\.0\.0\.1:\d+ refused the login \(WRONGPASS/,
    );
  }, 30_000);

  test('without the CA the certificate is refused, with a hint at REDIS_TLS_CA', async () => {
    await expect(startTestApp({ REDIS_URL: tls.url })).rejects.toThrow(/REDIS_URL: TLS to Redis at .* failed .*REDIS_TLS_CA/);
  }, 30_000);
});
