import { describe, expect, test } from 'vitest';
import { collectorStarter, makeTicks } from '../helpers/socket-client.js';
import { appStarter, getJson, postTicks, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { redisForFile } from '../helpers/file-redis.js';

const redis = redisForFile();
const cleanups = cleanupsAfterEach();

const app = appStarter(cleanups);
const collector = collectorStarter(cleanups);
const seqs = (ticks: { seq: number }[]) => ticks.map((t) => t.seq);
/** Seqs of the ticks in the persist queue (one entry per pair and micro-batch, a JSON array each). */
async function queuedSeqs(prefix: string): Promise<number[]> {
  const entries = (await redis.xRange(`${prefix}queue:persist`, '-', '+')) ?? [];
  return entries.flatMap((e) => (JSON.parse(e.message.t!) as { seq: number }[]).map((x) => x.seq));
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('live tick path', () => {
  test('every tick reaches a subscriber once, in seq order, per pair', async () => {
    const t = await app();
    const c = await collector(t.url);
    expect(await c.subscribe('EUR/USD_otc')).toMatchObject({ ok: true, seq: 0, ticks: [] });
    expect(await c.subscribe('GBP/USD_otc')).toMatchObject({ ok: true, seq: 0, ticks: [] });
    const a = makeTicks('EUR/USD_otc', 600);
    const b = makeTicks('GBP/USD_otc', 400);
    // Concurrent requests, each mixing both pairs.
    const requests = [];
    for (let i = 0; i < 10; i++) requests.push(postTicks(t.url, [...a.slice(i * 60, i * 60 + 60), ...b.slice(i * 40, i * 40 + 40)]));
    const replies = await Promise.all(requests);
    expect(replies.every((r) => r.status === 202 && r.body.accepted === 100)).toBe(true);
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 600 && c.ticks('GBP/USD_otc').length >= 400, 10_000, 'all ticks');
    await new Promise((r) => setTimeout(r, 200)); // nothing more may come
    expect(seqs(c.ticks('EUR/USD_otc'))).toEqual(range(1, 600));
    expect(seqs(c.ticks('GBP/USD_otc'))).toEqual(range(1, 400));
    // Each tick keeps the fields it was sent with; prices of one pair all arrived.
    expect(new Set(c.ticks('EUR/USD_otc').map((x) => x.price))).toEqual(new Set(a.map((x) => x.price)));
    expect(c.ticks('EUR/USD_otc')[0]).toEqual(expect.objectContaining({ pair: 'EUR/USD_otc', seq: 1 }));
  });

  test('ticks:<SYM> is capped at TICK_BUFFER_SIZE and newest first; /api/ticks is oldest first', async () => {
    const t = await app({ TICK_BUFFER_SIZE: '50' });
    const ticks = makeTicks('EUR/USD_otc', 120);
    expect((await postTicks(t.url, ticks)).body).toEqual({ accepted: 120, duplicates: 0 });
    const raw = await redis.lRange(`${t.prefix}ticks:EURUSD_otc`, 0, -1);
    expect(raw).toHaveLength(50);
    expect(raw.map((s) => JSON.parse(s).seq)).toEqual(range(71, 120).reverse());
    expect(JSON.parse(raw[0]!)).toEqual({ ...ticks[119], seq: 120 });
    const recent = await getJson(`${t.url}/api/ticks?pair=EUR/USD_otc&limit=5`);
    expect(recent.map((x: { seq: number }) => x.seq)).toEqual([116, 117, 118, 119, 120]);
  });

  test('updates:<SYM> carries each tick once; a resent batch is all duplicates and sends nothing', async () => {
    const t = await app();
    const sub = redis.duplicate();
    await sub.connect();
    cleanups.push(() => sub.close());
    const messages: string[] = [];
    await sub.subscribe(`${t.prefix}updates:EURUSD_otc`, (m) => messages.push(m));
    const c = await collector(t.url);
    await c.subscribe('EUR/USD_otc');

    const ticks = makeTicks('EUR/USD_otc', 200);
    expect((await postTicks(t.url, ticks)).body).toEqual({ accepted: 200, duplicates: 0 });
    await waitFor(() => messages.length >= 200 && c.ticks('EUR/USD_otc').length >= 200, 5000, 'messages');
    expect(messages.map((m) => JSON.parse(m).seq)).toEqual(range(1, 200));
    expect(await queuedSeqs(t.prefix)).toEqual(range(1, 200));
    expect(await redis.get(`${t.prefix}queue:persist:ticks`)).toBe('200');

    // The same batch again, as a client retry would send it.
    expect((await postTicks(t.url, ticks)).body).toEqual({ accepted: 0, duplicates: 200 });
    // A retry of a part, with fields in another order and an extra field.
    const part = ticks.slice(10, 20).map((x) => ({ timestamp: x.timestamp, extra: 1, price: x.price, pair: x.pair }));
    expect((await postTicks(t.url, part)).body).toEqual({ accepted: 0, duplicates: 10 });
    await new Promise((r) => setTimeout(r, 300));
    expect(messages).toHaveLength(200);
    expect(c.ticks('EUR/USD_otc')).toHaveLength(200);
    expect(await redis.get(`${t.prefix}seq:EURUSD_otc`)).toBe('200');
    expect(await queuedSeqs(t.prefix)).toEqual(range(1, 200));
    expect(await redis.lLen(`${t.prefix}ticks:EURUSD_otc`)).toBe(200);
  });

  test('identity is the feed id where given: same id is a duplicate even with another price', async () => {
    const t = await app();
    const ts = Date.now();
    expect((await postTicks(t.url, { pair: 'EUR/USD_otc', price: 1.1, timestamp: ts, id: 'abc' })).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await postTicks(t.url, { pair: 'EUR/USD_otc', price: 1.2, timestamp: ts, id: 'abc' })).body).toEqual({ accepted: 0, duplicates: 1 });
    // Same time and price but another id: a different tick.
    expect((await postTicks(t.url, { pair: 'EUR/USD_otc', price: 1.1, timestamp: ts, id: 'abd' })).body).toEqual({ accepted: 1, duplicates: 0 });
    // The same id on another pair is another tick.
    expect((await postTicks(t.url, { pair: 'GBP/USD_otc', price: 1.1, timestamp: ts, id: 'abc' })).body).toEqual({ accepted: 1, duplicates: 0 });
    // Duplicates inside one batch count once.
    const dup = { pair: 'AUD/CAD_otc', price: 0.9, timestamp: ts };
    expect((await postTicks(t.url, [dup, dup, { ...dup, price: 0.91 }])).body).toEqual({ accepted: 2, duplicates: 1 });
  });

  test('seq continues across a restart and across two processes sharing one Redis', async () => {
    const a = await app({}, { keepKeys: true });
    const b = await app({}, { prefix: a.prefix });
    const c = await collector(b.url);
    await c.subscribe('EUR/USD_otc');
    const ticks = makeTicks('EUR/USD_otc', 100);
    // Alternate the two processes; both hand out seqs from the one counter.
    await Promise.all(ticks.map((x, i) => postTicks(i % 2 ? a.url : b.url, x)));
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 100, 5000, 'ticks via process b');
    expect(seqs(c.ticks('EUR/USD_otc'))).toEqual(range(1, 100));
    await a.close();
    const a2 = await app({}, { prefix: a.prefix });
    expect((await postTicks(a2.url, makeTicks('EUR/USD_otc', 1, Date.now()))).body.accepted).toBe(1);
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 101, 5000, 'tick after restart');
    expect(c.ticks('EUR/USD_otc').at(-1)!.seq).toBe(101);
  });

  test('a subscriber joining mid-stream gets the snapshot and then every later tick exactly once', async () => {
    const t = await app();
    const all = makeTicks('EUR/USD_otc', 3000);
    let sent = 0;
    const pumping = (async () => {
      while (sent < all.length) {
        await postTicks(t.url, all.slice(sent, sent + 30));
        sent += 30;
      }
    })();
    await waitFor(() => sent >= 600, 10_000, 'stream under way');
    const c = await collector(t.url);
    const ack = await c.subscribe('EUR/USD_otc');
    if (!ack.ok) throw new Error(ack.error);
    expect(ack.seq).toBeGreaterThan(0);
    expect(ack.ticks.at(-1)!.seq).toBe(ack.seq);
    await pumping;
    await waitFor(() => (c.ticks('EUR/USD_otc').at(-1)?.seq ?? 0) >= 3000, 10_000, 'stream end');
    expect(seqs(c.ticks('EUR/USD_otc'))).toEqual(range(ack.seq + 1, 3000));
  });

  test('unsubscribe stops the ticks of that pair only', async () => {
    const t = await app();
    const c = await collector(t.url);
    await c.subscribe('EUR/USD_otc');
    await c.subscribe('GBP/USD_otc');
    await postTicks(t.url, [...makeTicks('EUR/USD_otc', 5), ...makeTicks('GBP/USD_otc', 5)]);
    await waitFor(() => c.ticks('EUR/USD_otc').length === 5 && c.ticks('GBP/USD_otc').length === 5, 5000, 'first ticks');
    expect(await c.socket.timeout(5000).emitWithAck('unsubscribe', { pair: 'EUR/USD_otc' })).toEqual({ ok: true });
    await postTicks(t.url, [...makeTicks('EUR/USD_otc', 5, Date.now()), ...makeTicks('GBP/USD_otc', 5, Date.now())]);
    await waitFor(() => c.ticks('GBP/USD_otc').length === 10, 5000, 'second GBP ticks');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.ticks('EUR/USD_otc')).toHaveLength(5);
  });

  test('the simulator streams every configured pair; assets and health answer', async () => {
    const t = await app({ FEED: 'simulated', ASSETS: 'EUR/USD_otc,USD/JPY_otc', TICKS_PER_MINUTE: '12000' });
    const c = await collector(t.url);
    await c.subscribe('USD/JPY_otc');
    await waitFor(() => c.ticks('USD/JPY_otc').length >= 20, 5000, 'simulated ticks');
    const jpy = c.ticks('USD/JPY_otc');
    expect(seqs(jpy)).toEqual(range(jpy[0]!.seq, jpy[0]!.seq + jpy.length - 1));
    // A believable quote: near the base price, 3 decimals for a JPY pair.
    for (const x of jpy) {
      expect(x.price).toBeGreaterThan(140);
      expect(x.price).toBeLessThan(160);
      expect(Math.round(x.price * 1000) / 1000).toBe(x.price);
    }
    const assets = await getJson(`${t.url}/api/assets`);
    expect(assets.map((a: { pair: string }) => a.pair)).toEqual(['EUR/USD_otc', 'USD/JPY_otc']);
    expect(assets[0]).toEqual({ pair: 'EUR/USD_otc', price: expect.any(Number), timestamp: expect.any(Number) });
    const health = await getJson(`${t.url}/health`);
    expect(health).toMatchObject({
      status: 'ok',
      redis: { status: 'up', kind: 'external' },
      database: { status: 'up', kind: 'external' },
      persistence: { pending: expect.any(Number), lagMs: expect.any(Number) },
    });
    expect(health.persistence.pending).toBeGreaterThanOrEqual(20);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/quflx_ticks_accepted_total\{source="simulator"\} \d+/);
    expect(metrics).toContain('quflx_redis_roundtrip_seconds_bucket');
    expect(metrics).toContain('quflx_tick_to_publish_seconds_bucket');
    expect(metrics).toMatch(/quflx_socket_clients 1/);
  });
});
