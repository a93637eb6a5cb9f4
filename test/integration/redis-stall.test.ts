import { createClient } from 'redis';
import { describe, expect, test } from 'vitest';
import { captureLog } from '../helpers/log-capture.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { makeTicks, TickCollector } from '../helpers/socket-client.js';
import { startTestApp, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

/**
 * Redis stalling without closing (SIGSTOP of a private redis-server: every link stays open and
 * nothing answers). QuFLX must keep answering: /health degraded, ingest 503 with Retry-After,
 * reads 503, a log line naming the stalled link; and resume when Redis does, with no feed tick
 * lost or doubled.
 */

const cleanups = cleanupsAfterEach();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A request that must answer within `ms` (a hang fails the test instead of stalling it). */
async function within(url: string, init: RequestInit, ms: number): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* the assertion will show it */
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

describe('Redis stalls without closing', () => {
  test('health, ingest and reads answer at once while frozen; all resumes after, with every tick stored once', async () => {
    const redisProc = await RedisProcess.start('everysec');
    cleanups.push(() => redisProc.stop());
    const captured = captureLog();
    const t = await startTestApp({ REDIS_URL: redisProc.url, TICK_BUFFER_SIZE: '100000', BATCH_INTERVAL_MS: '200' }, { log: captured.log, httpLimits: { apiReadTimeoutMs: 3000 } });
    cleanups.push(() => t.close());
    cleanups.push(() => redisProc.thaw()); // before closing, also when the test fails frozen
    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    await c.subscribe('EUR/USD_otc');

    // Feed ticks all through the stall (FeedPump's way in).
    const feedTicks = makeTicks('EUR/USD_otc', 3000, Date.now() - 60_000);
    let offered = 0;
    let refusedOffers = 0;
    const feeding = (async () => {
      while (offered < feedTicks.length) {
        if (!t.app.ingestor.offer(feedTicks.slice(offered, offered + 10), 'ws')) refusedOffers++;
        offered += 10;
        await sleep(10);
      }
    })();
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 300, 10_000, 'ticks before the stall');
    const url = `${t.url}/api/ticks`;
    const post = (body: unknown, ms: number) =>
      within(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, ms);
    const httpTicks = makeTicks('GBP/USD_otc', 40, Date.now() - 30_000);
    expect((await post(httpTicks.slice(0, 10), 5000)).status).toBe(202);

    redisProc.freeze();
    const offeredAtFreeze = offered;
    // Health answers, promptly, and says Redis is down.
    const health = await within(`${t.url}/health`, {}, 5000);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', redis: { status: 'down' } });
    // Ingest answers 503 with Retry-After within a bound (nothing waits forever on the frozen link).
    const refused = await post(httpTicks.slice(10, 20), 15_000);
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect(refused.body.error).toMatch(/redis/i);
    // Once the stall is known, further ingest and reads are refused at once.
    const again = await post(httpTicks.slice(20, 30), 5000);
    expect(again.status).toBe(503);
    const read = await within(`${t.url}/api/ticks?pair=${encodeURIComponent('EUR/USD_otc')}`, {}, 15_000);
    expect(read.status).toBe(503);
    expect(read.retryAfter).toMatch(/^\d+$/);
    expect(read.body.error).toMatch(/redis/i);
    expect((await within(`${t.url}/health`, {}, 5000)).body.redis.status).toBe('down');
    // Every other read under /api answers within its bound too.
    const candles = await within(`${t.url}/api/candles?pair=${encodeURIComponent('EUR/USD_otc')}&timeframe=1M`, {}, 15_000);
    expect(candles.status).toBe(503);
    expect(candles.retryAfter).toMatch(/^\d+$/);
    expect(candles.body.error).toMatch(/no answer within 3000 ms/i);
    // The log says which link stalled.
    await waitFor(() => captured.find(/redis link stalled/).length > 0, 5000, 'a stalled-link log line');
    expect(captured.find(/redis link stalled/)[0]).toMatchObject({ link: 'quflx-cmd' });

    await sleep(2000);
    // The feed kept offering while Redis was frozen.
    expect(offered).toBeGreaterThan(offeredAtFreeze);
    redisProc.thaw();
    await feeding;
    expect(refusedOffers).toBe(0);
    await waitFor(() => captured.find(/redis link answers again/).length > 0, 15_000, 'a recovered-link log line');

    // Ingest works again; a client retries what was refused (a tick that did get in is a duplicate).
    await waitFor(async () => (await post(httpTicks.slice(10, 20), 5000)).status === 202, 15_000, 'ingest accepted again');
    expect((await post(httpTicks.slice(20, 40), 5000)).status).toBe(202);
    const read2 = await within(`${t.url}/api/ticks?pair=${encodeURIComponent('GBP/USD_otc')}&limit=100`, {}, 5000);
    expect(read2.status).toBe(200);
    expect(read2.body.map((x: { timestamp: number }) => x.timestamp)).toEqual(httpTicks.map((x) => x.timestamp));
    await waitFor(() => t.app.ingestor.backlog === 0, 20_000, 'ingest backlog drained');
    await waitFor(async () => (await within(`${t.url}/health`, {}, 5000)).body.status === 'ok', 15_000, 'health ok again');

    // Every feed tick exactly once, in seq order, in Redis and to the subscriber.
    const check = createClient({ url: redisProc.url, RESP: 2 });
    await check.connect();
    cleanups.push(() => check.close());
    expect(Number(await check.get(`${t.prefix}seq:EURUSD_otc`))).toBe(feedTicks.length);
    const list = (await check.lRange(`${t.prefix}ticks:EURUSD_otc`, 0, -1)).map((s) => JSON.parse(s) as { seq: number; timestamp: number }).reverse();
    expect(list.map((x) => x.seq)).toEqual(range(1, feedTicks.length));
    expect(new Set(list.map((x) => x.timestamp)).size).toBe(feedTicks.length);
    await waitFor(() => c.ticks('EUR/USD_otc').length >= feedTicks.length, 15_000, 'every tick delivered');
    await sleep(200);
    expect(c.ticks('EUR/USD_otc').map((x) => x.seq)).toEqual(range(1, feedTicks.length));

    // And in PostgreSQL: each feed and HTTP tick once, by identity.
    const total = feedTicks.length + httpTicks.length;
    await waitFor(async () => (await t.db.count()) >= total, 30_000, 'all stored');
    const rows = (await t.db.pool.query<{ pair: string; price: number; timestamp: string }>('SELECT pair, price, timestamp FROM historical_ticks')).rows;
    const stored = rows.map((r) => `${r.pair}|${Number(r.timestamp)}|${r.price}`).sort();
    const want = [...feedTicks, ...httpTicks].map((x) => `${x.pair}|${x.timestamp}|${x.price}`).sort();
    expect(stored).toEqual(want);
  }, 120_000);
});
