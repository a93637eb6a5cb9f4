import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toSymbol } from '../../src/core/pair.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, detectRedisTarget } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import type { FiredAlert } from '../../src/shared/events.js';
import { PersistOutbox } from '../../src/redis/persist-outbox.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { ticksFor as ticksAgo, type PostedTick } from '../helpers/posted-ticks.js';
import { TickCollector } from '../helpers/socket-client.js';
import { getJson, startTestApp, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { freshRequest, WorkersChild } from '../helpers/workers-child.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

/**
 * QuFLX on a real 3-master + 3-replica Redis Cluster (started by the test): two servers, one of
 * them WORKERS=2, sharing the cluster and one PostgreSQL schema.
 */

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const cleanups = cleanupsAfterEach();

/** Twelve pairs: with 3 masters every master holds some (asserted). */
const PAIRS = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'NZD/USD_otc', 'EUR/JPY_otc', 'CHF/JPY_otc', 'AUD/USD_otc', 'EUR/GBP_otc', 'USD/CAD_otc', 'GBP/JPY_otc', 'USD/CHF_otc'];

/** Two servers on the cluster: one in this process, one a WORKERS=2 child. */
async function twoServers(env: Record<string, string>, on: RedisCluster = cluster): Promise<{ urls: string[]; db: TestSchema; keys: RedisKeys }> {
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  const prefix = uniquePrefix();
  const common = { REDIS_URL: on.url, BATCH_INTERVAL_MS: '200', ...env };
  const a = await startTestApp(common, { prefix, db, keepKeys: true });
  cleanups.push(() => a.close());
  const b = new WorkersChild({ ...common, WORKERS: '2', PORT: '0', DATABASE_URL: db.url, REDIS_KEY_PREFIX: prefix, FEED: 'none', PERSIST_CONSUMER: 'b' });
  cleanups.push(() => b.kill());
  return { urls: [a.url, await b.running()], db, keys: new RedisKeys(prefix, 0, true) };
}

/** Subscribers on both servers (two on the WORKERS=2 one, so both of its workers likely hold one), each following every pair. */
async function subscribers(urls: string[]): Promise<TickCollector[]> {
  const collectors = await Promise.all([urls[0]!, urls[1]!, urls[1]!].map((u) => TickCollector.connect(u)));
  cleanups.push(() => collectors.forEach((c) => c.close()));
  for (const c of collectors) for (const p of PAIRS) expect(await c.subscribe(p)).toMatchObject({ ok: true });
  return collectors;
}

/** Rows stored, and distinct ticks among them. */
async function stored(db: TestSchema): Promise<{ rows: number; distinct: number }> {
  const r = await db.pool.query<{ rows: number; distinct: number }>('SELECT count(*)::int AS rows, count(DISTINCT (pair, feed_id))::int AS distinct FROM historical_ticks');
  return r.rows[0]!;
}

/** Each subscriber holds every acknowledged tick of every pair exactly once, in seq order (seq 1, 2, 3, ...). */
function expectDelivered(collectors: TickCollector[], acknowledged: PostedTick[]): void {
  for (const c of collectors) {
    for (const pair of PAIRS) {
      const got = c.ticks(pair);
      expect(got.map((t) => t.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
      // Every posted tick ends up acknowledged (a refused post is sent again): exactly those arrive, once each.
      const ids = got.map((t) => String(t.id));
      const want = acknowledged.filter((t) => t.pair === pair).map((t) => t.id);
      expect([...ids].sort()).toEqual([...want].sort());
    }
  }
}

const ticksFor = (pair: string, tag: string, from: number, n: number) => ticksAgo(pair, tag, from, n, 60_000);

/**
 * Posts 3 ticks at a time, each pair in turn, alternately to either server; a refused post (a 503
 * while the cluster fails over or moves a slot) is sent again, as a feed would, until acknowledged.
 */
function postContinuously(urls: string[]): { acknowledged: PostedTick[]; refused: () => number; stop: () => Promise<PostedTick[]> } {
  const acknowledged: PostedTick[] = [];
  let refused = 0;
  let posting = true;
  let n = 0;
  const loop = (async () => {
    while (posting) {
      const pair = PAIRS[n % PAIRS.length]!;
      const ticks = ticksFor(pair, 'f', Math.floor(n / PAIRS.length) * 3, 3);
      const url = urls[n % 2]!;
      n++;
      for (;;) {
        const res = await freshRequest(`${url}/api/ticks`, 'POST', ticks, 5000).catch(() => null);
        if (res?.status === 202) {
          acknowledged.push(...ticks);
          break;
        }
        refused++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return {
    acknowledged,
    refused: () => refused,
    stop: async () => {
      posting = false;
      await loop;
      // One last tick per pair shows every subscriber where each pair's seq now stands.
      for (const pair of PAIRS) {
        const last = ticksFor(pair, 'z', 0, 1);
        const res = await freshRequest(`${urls[0]}/api/ticks`, 'POST', last);
        expect(res.status).toBe(202);
        acknowledged.push(...last);
      }
      return acknowledged;
    },
  };
}

/** Every acknowledged tick stored exactly once, and at every subscriber exactly once, in seq order. */
async function expectStoredAndDelivered(db: TestSchema, collectors: TickCollector[], acknowledged: PostedTick[]): Promise<void> {
  await waitFor(async () => (await stored(db)).rows >= acknowledged.length, 90_000, 'every acknowledged tick stored');
  await new Promise((r) => setTimeout(r, 500));
  // A refused post may have been stored too; sent again it was acknowledged as a repeat.
  expect(await stored(db)).toEqual({ rows: acknowledged.length, distinct: acknowledged.length });
  const perPair = (p: string) => acknowledged.filter((t) => t.pair === p).length;
  await waitFor(() => collectors.every((c) => PAIRS.every((p) => c.ticks(p).length >= perPair(p))), 60_000, 'every acknowledged tick at every subscriber');
  expectDelivered(collectors, acknowledged);
}

describe('Redis Cluster', () => {
  test('keys of one pair share a slot; the pairs spread over every master', async () => {
    const keys = new RedisKeys('p:', 0, true);
    const pair = 'EUR/USD_otc';
    expect(keys.ticks(pair)).toBe('p:ticks:{EURUSD_otc}');
    expect(keys.historical(pair, '1M')).toBe('p:historical:{EURUSD_otc}:1M');
    const slot = calculateSlot(keys.ticks(pair));
    for (const k of [keys.seq(pair), keys.seen(pair), keys.candleTail(pair), keys.ingestQueue(pair), keys.unstoredCount(pair), keys.updates(pair)]) {
      expect(calculateSlot(k)).toBe(slot);
    }
    const masters = new Set(await Promise.all(PAIRS.map((p) => cluster.masterPortOf(`ticks:{${toSymbol(p)}}`))));
    expect(masters.size).toBe(3);
  });

  test('the outbox sweep moves what no mover took and what a dead mover held, each entry once', async () => {
    const redis = await connectRedis(await detectRedisTarget(cluster.url), 'outbox-test', createLogger('silent'));
    cleanups.push(() => redis.close());
    const keys = new RedisKeys(uniquePrefix(), 0, true);
    const pair = 'EUR/USD_otc';
    const outboxKey = keys.ingestQueue(pair);
    const queue = keys.persistQueueOf(pair);
    await redis.xGroupCreate(outboxKey, 'mover', '0', { MKSTREAM: true });
    const bodies = [1, 2, 3].map((i) => JSON.stringify([{ pair, price: 1 + i / 10, timestamp: 1_700_000_000_000 + i, seq: i }]));
    for (const t of bodies) await redis.xAdd(outboxKey, '*', { t, n: '1' });
    // A mover that took the first entry and died before moving it.
    await redis.xReadGroup('mover', 'dead', { key: outboxKey, id: '>' }, { COUNT: 1 });
    const outbox = new PersistOutbox(redis, keys, createLogger('silent'), { consumer: 'live', symbols: async () => ['EURUSD_otc'], stuckMs: 200 });
    cleanups.push(() => outbox.close());
    await outbox.sweep();
    // Not stuck long enough yet: only the two no mover took.
    expect((await redis.xRange(queue, '-', '+'))!.map((e) => e.message.t)).toEqual(bodies.slice(1));
    await new Promise((r) => setTimeout(r, 300));
    await outbox.sweep();
    await outbox.sweep();
    expect((await redis.xRange(queue, '-', '+'))!.map((e) => e.message.t).sort()).toEqual([...bodies].sort());
    expect(await redis.get(keys.persistQueueCount(queue))).toBe('3');
    expect(await redis.xLen(outboxKey)).toBe(0);
    expect((await redis.xPending(outboxKey, 'mover')).pending).toBe(0);
    // A kick after a write moves at once.
    await redis.xAdd(outboxKey, '*', { t: '[]', n: '0' });
    outbox.kick([pair]);
    await waitFor(async () => (await redis.xLen(queue)) === 4, 5000, 'kicked entry moved');
  });

  test('two servers (one WORKERS=2): every tick posted to either is stored once and reaches every subscriber on either once, in seq order', async () => {
    const { urls, db } = await twoServers({});
    const collectors = await subscribers(urls);
    const acknowledged: PostedTick[] = [];
    const PER_PAIR = 60;
    for (let round = 0; round < PER_PAIR / 5; round++) {
      await Promise.all(
        PAIRS.map(async (pair, i) => {
          const ticks = ticksFor(pair, 'c', round * 5, 5);
          // Fresh connections: the WORKERS=2 server hands them to both workers.
          const res = await freshRequest(`${urls[(round + i) % 2]}/api/ticks`, 'POST', ticks);
          expect(res.status).toBe(202);
          expect(JSON.parse(res.text)).toEqual({ accepted: 5, duplicates: 0 });
          acknowledged.push(...ticks);
        }),
      );
    }
    await waitFor(async () => (await stored(db)).rows >= acknowledged.length, 60_000, 'every tick stored');
    await new Promise((r) => setTimeout(r, 500));
    expect(await stored(db)).toEqual({ rows: acknowledged.length, distinct: acknowledged.length });
    await waitFor(() => collectors.every((c) => PAIRS.every((p) => c.ticks(p).length >= PER_PAIR)), 30_000, 'every tick at every subscriber');
    expectDelivered(collectors, acknowledged);
    for (const c of collectors) for (const p of PAIRS) expect(c.ticks(p)).toHaveLength(PER_PAIR);

    // Candles, filled on one server and kept current by the other's ingest, agree and count every tick.
    for (const pair of PAIRS.slice(0, 3)) {
      const q = `/api/candles?pair=${encodeURIComponent(pair)}&timeframe=1M&limit=10`;
      const first = await getJson(`${urls[0]}${q}`);
      const more = ticksFor(pair, 'm', 1000, 5);
      expect((await freshRequest(`${urls[1]}/api/ticks`, 'POST', more)).status).toBe(202);
      const a = await getJson(`${urls[0]}${q}`);
      const b = await getJson(`${urls[1]}${q}`);
      expect(a.source).toBe('cache');
      expect(a.candles).toEqual(b.candles);
      const volume = (cs: { volume: number }[]) => cs.reduce((n, c) => n + c.volume, 0);
      expect(volume(first.candles)).toBe(PER_PAIR);
      expect(volume(a.candles)).toBe(PER_PAIR + 5);
    }
  }, 180_000);

  test('a price alert made on one server and crossed by a tick the other takes fires once, to clients of both', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    const prefix = uniquePrefix();
    const common = { REDIS_URL: cluster.url, BATCH_INTERVAL_MS: '200' };
    const [a, b] = await Promise.all([startTestApp(common, { prefix, db, keepKeys: true }), startTestApp(common, { prefix, db, keepKeys: true })]);
    cleanups.push(() => a.close(), () => b.close());
    const listeners = await Promise.all([a.url, b.url].map((u) => TickCollector.connect(u)));
    cleanups.push(() => listeners.forEach((l) => l.close()));
    const got: FiredAlert[][] = listeners.map((l) => {
      const events: FiredAlert[] = [];
      l.socket.on('alert', (e) => events.push(e));
      return events;
    });
    const pair = PAIRS[1]!;
    expect((await freshRequest(`${a.url}/api/ticks`, 'POST', [{ pair, price: 1.0, timestamp: Date.now() - 1000 }])).status).toBe(202);
    const made = await freshRequest(`${a.url}/api/alerts`, 'POST', { pair, condition: 'above', price: 1.1 });
    expect(made.status).toBe(201);
    const alert = JSON.parse(made.text) as { id: number };
    await waitFor(() => b.app.alerts.watched === 1, 15_000, 'the other server watching the alert');
    expect((await freshRequest(`${b.url}/api/ticks`, 'POST', [{ pair, price: 1.15, timestamp: Date.now() }])).status).toBe(202);
    await waitFor(() => got.every((g) => g.length === 1), 15_000, 'the alert at clients of both servers');
    await Promise.all([a.app.alerts.settled(), b.app.alerts.settled()]);
    await new Promise((r) => setTimeout(r, 300));
    expect(got.map((g) => g.map((e) => e.id))).toEqual([[alert.id], [alert.id]]);
    // Claimed once in all (the claim is in the database; the notices cross the cluster by PUBLISH).
    const firedBy = async (x: typeof a) => (await x.app.metrics.alertsFired.get()).values[0]?.value ?? 0;
    expect((await firedBy(a)) + (await firedBy(b))).toBe(1);
  }, 60_000);

  test('a pair\'s slot moved to another master while ticks flow: every tick stored once, every subscriber keeps receiving in seq order', async () => {
    const { urls, db } = await twoServers({});
    const collectors = await subscribers(urls);
    const flow = postContinuously(urls);
    await waitFor(() => flow.acknowledged.length >= 300, 30_000, 'ticks flowing');
    const key = `ticks:{${toSymbol(PAIRS[0]!)}}`;
    const from = await cluster.masterPortOf(key);
    const to = (await cluster.masterPorts()).find((p) => p !== from)!;
    await cluster.moveSlot(calculateSlot(key), to);
    expect(await cluster.masterPortOf(key)).toBe(to);
    const atMove = flow.acknowledged.length;
    await waitFor(() => flow.acknowledged.length >= atMove + 600, 60_000, 'ticks acknowledged after the move');
    const acknowledged = await flow.stop();
    await expectStoredAndDelivered(db, collectors, acknowledged);
  }, 240_000);

  test('REDIS_WAIT_REPLICAS=1 while a master is SIGKILLed: no acknowledged tick is lost, none stored twice, subscribers never see seq go back', async () => {
    // Two replicas per master: once one is promoted, the other still answers WAIT 1.
    const own = await RedisCluster.start({ masters: 3, replicasPerMaster: 2 });
    cleanups.push(() => own.stop());
    const { urls, db } = await twoServers({ REDIS_WAIT_REPLICAS: '1' }, own);
    const collectors = await subscribers(urls);
    const flow = postContinuously(urls);
    await waitFor(() => flow.acknowledged.length >= 300, 30_000, 'ticks flowing');
    const victim = await own.masterPortOf(`ticks:{${toSymbol(PAIRS[0]!)}}`);
    const promoted = await own.killMaster(victim);
    expect(promoted).not.toBe(victim);
    const atKill = flow.acknowledged.length;
    await waitFor(() => flow.acknowledged.length >= atKill + 600, 60_000, 'ticks acknowledged after the failover');
    const acknowledged = await flow.stop();
    await expectStoredAndDelivered(db, collectors, acknowledged);
    console.log(`failover: ${acknowledged.length} ticks acknowledged, ${flow.refused()} posts refused and sent again`);
  }, 240_000);
});
