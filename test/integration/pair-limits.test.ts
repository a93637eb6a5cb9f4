import { WebSocketServer, type WebSocket } from 'ws';
import { describe, expect, test } from 'vitest';
import { makeTicks, TickCollector } from '../helpers/socket-client.js';
import { appStarter, getJson, postTicks, waitFor, type TestApp } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { redisForFile } from '../helpers/file-redis.js';

const redis = redisForFile();
const cleanups = cleanupsAfterEach();

const app = appStarter(cleanups);
async function keysOf(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
  return keys.sort();
}
async function metric(t: TestApp, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await (await fetch(`${t.url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

describe('reads never create keys', () => {
  test('GETs of made-up pairs and subscribes with a timeframe to unknown pairs answer empty and leave Redis as it was', async () => {
    const t = await app();
    // One real pair with a candle cache, so the reads run against a live deployment.
    expect((await postTicks(t.url, makeTicks('EUR/USD_otc', 20, Date.now() - 60_000))).body.accepted).toBe(20);
    expect((await getJson(`${t.url}/api/candles?pair=EUR/USD_otc`)).candles.length).toBeGreaterThan(0);
    const before = await keysOf(t.prefix);

    const made = Array.from({ length: 200 }, (_, i) => `FAKE${i}_otc`);
    for (const [i, pair] of made.entries()) {
      const tf = ['1M', '5S', '1H', '1D'][i % 4];
      const candles = await getJson(`${t.url}/api/candles?pair=${pair}&timeframe=${tf}`);
      expect(candles).toEqual({ pair, timeframe: tf, source: 'database', candles: [] });
      const rsi = await getJson(`${t.url}/api/indicators?pair=${pair}&timeframe=${tf}&name=rsi`);
      expect(rsi).toMatchObject({ name: 'rsi', pair, values: [] });
      expect(await getJson(`${t.url}/api/ticks?pair=${pair}`)).toEqual([]);
    }
    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    for (const pair of made.slice(0, 20)) {
      const ack = await c.socket.timeout(5000).emitWithAck('subscribe', { pair, timeframe: '1M', indicators: [{ name: 'ema', period: 5 }] });
      expect(ack).toMatchObject({ ok: true, pair, seq: 0, ticks: [], candles: [] });
    }
    expect(await keysOf(t.prefix)).toEqual(before);
    // The real pair is unaffected.
    expect((await getJson(`${t.url}/api/assets`)).map((a: { pair: string }) => a.pair)).toEqual(['EUR/USD_otc']);
  });

  test('a subscriber to a pair with no ticks yet gets its ticks and candles once they come', async () => {
    const t = await app();
    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    const candles: { pair: string; candle: { volume: number } }[] = [];
    c.socket.on('candle', (e) => candles.push(e));
    expect(await c.subscribe('NEW/PAIR', '1M')).toMatchObject({ ok: true, pair: 'NEW/PAIR', candles: [] });
    const now = Date.now();
    expect((await postTicks(t.url, makeTicks('NEW/PAIR', 10, now - now % 60_000))).body.accepted).toBe(10);
    await waitFor(() => c.ticks('NEW/PAIR').length === 10, 5000, 'ticks');
    await waitFor(() => candles.some((e) => e.candle.volume === 10), 5000, 'a live candle with every tick');
    expect(candles.at(-1)!.pair).toBe('NEW/PAIR');
  });
});

describe('MAX_PAIRS bounds the number of pairs', () => {
  test('a request naming new pairs past MAX_PAIRS is a 400 naming each, and nothing of it is stored', async () => {
    const t = await app({ MAX_PAIRS: '3' });
    const base = Date.now() - 60_000;
    for (const p of ['A/ONE', 'B/TWO']) expect((await postTicks(t.url, makeTicks(p, 2, base))).status).toBe(202);
    // Known pairs and one new pair: fits.
    expect((await postTicks(t.url, [...makeTicks('A/ONE', 1, base + 10), ...makeTicks('C/THREE', 1, base)])).body).toEqual({ accepted: 2, duplicates: 0 });
    // A known pair plus two new ones: refused whole.
    const refused = await postTicks(t.url, [...makeTicks('A/ONE', 1, base + 20), ...makeTicks('D/FOUR', 1, base), ...makeTicks('E/FIVE', 1, base)]);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/MAX_PAIRS \(3\)/);
    expect(refused.body.details).toEqual([
      { index: 1, field: 'pair', message: expect.stringMatching(/"D\/FOUR" would be a new pair past MAX_PAIRS \(3 pairs\)/) },
      { index: 2, field: 'pair', message: expect.stringMatching(/"E\/FIVE"/) },
    ]);
    expect(await redis.get(`${t.prefix}seq:AONE`)).toBe('3');
    expect(await redis.exists(`${t.prefix}ticks:DFOUR`)).toBe(0);
    // A known pair under another spelling is no new pair.
    expect((await postTicks(t.url, makeTicks('A-ONE', 1, base + 30))).status).toBe(202);
    expect(await metric(t, /quflx_ticks_over_pair_limit_total\{source="http"\} (\d+)/)).toBe(2);
  });

  test('10,000 new pairs in one request: refused, and Redis stays small', async () => {
    const t = await app();
    const before = (await keysOf(t.prefix)).length;
    const ticks = Array.from({ length: 10_000 }, (_, i) => ({ pair: `P${i}`, price: 1, timestamp: Date.now() - 1000 }));
    const r = await postTicks(t.url, ticks);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/10000 of 10000 tick\(s\) would add pairs past MAX_PAIRS \(1000\)/);
    expect(r.body.details).toHaveLength(100);
    expect((await keysOf(t.prefix)).length).toBe(before);
  });

  test('a feed naming pairs past MAX_PAIRS: the ones that fit are taken, the rest dropped and counted', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const clients = new Set<WebSocket>();
    wss.on('connection', (ws) => clients.add(ws));
    cleanups.push(() => new Promise<void>((r) => (clients.forEach((c) => c.terminate()), wss.close(() => r()))));
    const t = await app({ MAX_PAIRS: '3', FEED: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` });
    await waitFor(() => clients.size === 1, 5000, 'feed connected');
    const base = Date.now() - 60_000;
    const message = ['F/1', 'F/2', 'F/3', 'F/4', 'F/5'].flatMap((p) => makeTicks(p, 4, base));
    for (const ws of clients) ws.send(JSON.stringify(message));
    await waitFor(async () => (await metric(t, /quflx_ticks_over_pair_limit_total\{source="ws"\} (\d+)/)) === 8, 5000, 'dropped ticks counted');
    await waitFor(async () => (await metric(t, /quflx_ticks_accepted_total\{source="ws"\} (\d+)/)) === 12, 5000, 'the others taken');
    expect((await getJson(`${t.url}/api/assets`)).map((a: { pair: string }) => a.pair)).toEqual(['F/1', 'F/2', 'F/3']);
  });
});
