import { createClient } from 'redis';
import { WebSocketServer, type WebSocket } from 'ws';
import { describe, expect, test } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { RedisProcess } from '../helpers/redis-process.js';
import { collectorStarter, makeTicks } from '../helpers/socket-client.js';
import { appStarter, deleteKeys, getJson, postTicks, startTestApp, TEST_REDIS_URL, waitFor, type TestApp } from '../helpers/test-app.js';
import { createTestSchema } from '../helpers/test-db.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { redisForFile } from '../helpers/file-redis.js';

const redis = redisForFile();
const cleanups = cleanupsAfterEach();

const app = appStarter(cleanups, { BATCH_INTERVAL_MS: '100' });
const collector = collectorStarter(cleanups);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const storedPairs = async (t: TestApp) =>
  (await t.db.pool.query<{ pair: string; n: number }>('SELECT pair, count(*)::int AS n FROM historical_ticks GROUP BY pair ORDER BY pair')).rows;
const q = encodeURIComponent;

describe('one instrument per symbol: the first spelling seen is canonical', () => {
  test('US.500, US500 and US-500 are one instrument: one seq, one row each, served and sent under US.500', async () => {
    const t = await app();
    const early = await collector(t.url);
    // Subscribed before any tick: the pair is not known yet, so the ack keeps the name asked for.
    expect(await early.subscribe('US-500')).toMatchObject({ ok: true, pair: 'US-500', seq: 0, ticks: [] });
    const both = await collector(t.url);
    await both.subscribe('US500');

    const base = Date.now() - 40_000;
    const first = makeTicks('US.500', 50, base);
    expect((await postTicks(t.url, first)).body).toEqual({ accepted: 50, duplicates: 0 });
    // One socket following two spellings follows the one instrument: each tick reaches it once.
    expect(await both.subscribe('US.500')).toMatchObject({ ok: true, pair: 'US.500', seq: 50 });
    // Ten seconds apart: at least three 5-second candles.
    const second = makeTicks('US500', 50, base + 10_000).map((x) => ({ ...x, price: x.price + 1 }));
    const third = makeTicks('US-500', 50, base + 20_000).map((x) => ({ ...x, price: x.price + 2 }));
    expect((await postTicks(t.url, second)).body).toEqual({ accepted: 50, duplicates: 0 });
    expect((await postTicks(t.url, third)).body).toEqual({ accepted: 50, duplicates: 0 });
    // The same ticks under another spelling are the same ticks of the same instrument.
    const again = first.map((x) => ({ ...x, pair: 'US500' }));
    expect((await postTicks(t.url, again)).body).toEqual({ accepted: 0, duplicates: 50 });

    await waitFor(() => early.ticks('US.500').length >= 150, 10_000, 'ticks at the early subscriber');
    await waitFor(() => both.ticks('US.500').length >= 150, 10_000, 'ticks at the two-spelling subscriber');
    await new Promise((r) => setTimeout(r, 200)); // nothing more may come
    expect([...early.received.keys()]).toEqual(['US.500']);
    expect(early.ticks('US.500').map((x) => x.seq)).toEqual(range(1, 150));
    expect([...both.received.keys()]).toEqual(['US.500']);
    expect(both.ticks('US.500').map((x) => x.seq)).toEqual(range(1, 150));

    const recent = await getJson(`${t.url}/api/ticks?pair=US500&limit=1000`);
    expect(recent).toHaveLength(150);
    expect(new Set(recent.map((x: { pair: string }) => x.pair))).toEqual(new Set(['US.500']));
    const assets = await getJson(`${t.url}/api/assets`);
    expect(assets.map((a: { pair: string }) => a.pair)).toEqual(['US.500']);
    const candles = await getJson(`${t.url}/api/candles?pair=${q('US-500')}&timeframe=1D`);
    expect(candles.pair).toBe('US.500');
    expect(candles.candles.reduce((n: number, c: { volume: number }) => n + c.volume, 0)).toBe(150);
    const rsi = await getJson(`${t.url}/api/indicators?pair=US500&timeframe=5S&name=sma&period=2`);
    expect(rsi.pair).toBe('US.500');
    expect(rsi.values.length).toBeGreaterThan(0);
    // A late subscriber under any spelling is told the canonical name.
    const late = await collector(t.url);
    expect(await late.subscribe('US500', '1M')).toMatchObject({ ok: true, pair: 'US.500', seq: 150 });

    await waitFor(async () => (await t.db.count()) === 150, 30_000, 'rows stored');
    expect(await storedPairs(t)).toEqual([{ pair: 'US.500', n: 150 }]);
    // One set of keys, one registry entry.
    expect(await redis.hGetAll(`${t.prefix}instruments`)).toEqual({ US500: 'US.500' });
  });

  test("the Chrome feed's EURUSD_otc joins the simulator's EUR/USD_otc: one instrument, one name, one series", async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const clients = new Set<WebSocket>();
    wss.on('connection', (ws) => clients.add(ws));
    cleanups.push(() => new Promise<void>((r) => (clients.forEach((c) => c.terminate()), wss.close(() => r()))));
    const t = await app({ FEED: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` });
    const c = await collector(t.url);
    await c.subscribe('EURUSD_otc', '1M');

    const base = Date.now() - 20_000;
    expect((await postTicks(t.url, makeTicks('EUR/USD_otc', 20, base))).body.accepted).toBe(20);
    await waitFor(() => clients.size === 1, 5000, 'feed connected');
    const fromFeed = makeTicks('EURUSD_otc', 30, base + 1000).map((x, i) => ({ ...x, id: `feed-${i}` }));
    for (const ws of clients) ws.send(JSON.stringify(fromFeed));
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 50, 10_000, 'ticks from both sources');
    expect([...c.received.keys()]).toEqual(['EUR/USD_otc']);
    expect(c.ticks('EUR/USD_otc').map((x) => x.seq)).toEqual(range(1, 50));
    await waitFor(async () => (await t.db.count()) === 50, 30_000, 'rows stored');
    expect(await storedPairs(t)).toEqual([{ pair: 'EUR/USD_otc', n: 50 }]);
    expect((await getJson(`${t.url}/api/assets`)).map((a: { pair: string }) => a.pair)).toEqual(['EUR/USD_otc']);
  });

  test('two processes taking two spellings at once agree on one', async () => {
    const a = await app({}, { keepKeys: true });
    const b = await app({}, { prefix: a.prefix, db: a.db });
    const base = Date.now() - 20_000;
    const replies = await Promise.all([
      postTicks(a.url, makeTicks('GBP/USD_otc', 40, base)),
      postTicks(b.url, makeTicks('GBPUSD_otc', 40, base + 1000)),
      postTicks(a.url, makeTicks('GBP-USD_otc', 40, base + 2000)),
    ]);
    expect(replies.map((r) => r.body.accepted)).toEqual([40, 40, 40]);
    await waitFor(async () => (await a.db.count()) === 120, 30_000, 'rows stored');
    const stored = await storedPairs(a);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.n).toBe(120);
    expect(await redis.hGetAll(`${a.prefix}instruments`)).toEqual({ GBPUSD_otc: stored[0]!.pair });
  });

  test('the names survive Redis losing its data: the next start takes them from the database', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    const first = await startTestApp({ BATCH_INTERVAL_MS: '100' }, { db, keepKeys: true });
    cleanups.push(() => first.close());
    expect((await postTicks(first.url, makeTicks('EUR/USD_otc', 10, Date.now() - 20_000))).body.accepted).toBe(10);
    await waitFor(async () => (await db.count()) === 10, 30_000, 'rows stored');
    await first.close();
    await deleteKeys(TEST_REDIS_URL, first.prefix); // Redis lost everything

    const second = await app({}, { db, prefix: first.prefix });
    expect((await postTicks(second.url, makeTicks('EURUSD_otc', 5, Date.now() - 5000))).body.accepted).toBe(5);
    const recent = await getJson(`${second.url}/api/ticks?pair=EURUSD_otc`);
    expect(recent.map((x: { pair: string }) => x.pair)).toEqual(Array(5).fill('EUR/USD_otc'));
    expect((await getJson(`${second.url}/api/assets`)).map((a: { pair: string }) => a.pair)).toEqual(['EUR/USD_otc']);
    await waitFor(async () => (await db.count()) === 15, 30_000, 'rows stored');
    expect(await storedPairs(second)).toEqual([{ pair: 'EUR/USD_otc', n: 15 }]);
  });

  test('a running server whose Redis comes back empty writes the names it uses back', async () => {
    const redisProc = await RedisProcess.start('always');
    cleanups.push(() => redisProc.stop());
    const t = await app({ REDIS_URL: redisProc.url });
    expect((await postTicks(t.url, makeTicks('EUR/USD_otc', 5, Date.now() - 20_000))).body.accepted).toBe(5);
    await redisProc.kill();
    for (const f of await readdir(redisProc.dir)) await rm(path.join(redisProc.dir, f), { recursive: true, force: true }); // its data is gone
    await redisProc.startServer();
    const check = createClient({ url: redisProc.url, RESP: 2 });
    await check.connect();
    cleanups.push(() => check.close());
    await waitFor(async () => (await check.hGet(`${t.prefix}instruments`, 'EURUSD_otc')) === 'EUR/USD_otc', 15_000, 'names restored');
    await waitFor(async () => (await postTicks(t.url, makeTicks('EURUSD_otc', 3, Date.now() - 5000))).status === 202, 15_000, 'ingest back');
    const recent = await getJson(`${t.url}/api/ticks?pair=EURUSD_otc`);
    expect(recent.map((x: { pair: string }) => x.pair)).toEqual(Array(3).fill('EUR/USD_otc'));
  });
});
