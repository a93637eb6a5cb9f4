import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { migrate } from '../../src/db/migrate.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { PERSIST_BATCH_TICKS, Persister } from '../../src/persist/persister.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { PERSIST_GROUP, RedisKeys } from '../../src/redis/keys.js';
import { TickStore } from '../../src/redis/tick-store.js';
import { Child } from '../helpers/child.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { makeTicks } from '../helpers/socket-client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestSchema, withSearchPath, type TestSchema } from '../helpers/test-db.js';
import { deleteKeys, getJson, postTicks, startTestApp, TEST_DATABASE_URL, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();
let redis: RedisClient;
beforeAll(async () => {
  redis = await connectRedis(TEST_REDIS_URL, 'persistence-test', log);
});
afterAll(async () => {
  await redis.close();
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function schema(): Promise<TestSchema> {
  const s = await createTestSchema();
  cleanups.push(() => s.drop());
  await migrate(s.pool, log);
  return s;
}

/** Ticks accepted through the real ingest script, as a running QuFLX would, under its own prefix. */
async function acceptedTicks(prefix: string, ticks: Tick[], url = TEST_REDIS_URL): Promise<number[]> {
  const client = url === TEST_REDIS_URL ? redis : await connectRedis(url, 'ingest', log);
  const store = new TickStore(client, new RedisKeys(prefix), { tickBufferSize: 1000, candleCacheSize: 200 });
  await store.init();
  const seqs: number[] = [];
  for (let i = 0; i < ticks.length; i += 2000) seqs.push(...(await store.write(ticks.slice(i, i + 2000))));
  if (client !== redis) await client.close();
  return seqs;
}

function persister(db: TestSchema, prefix: string, options: Partial<ConstructorParameters<typeof Persister>[5]> = {}, client = redis) {
  const p = new Persister(client, db.pool, new RedisKeys(prefix), new Metrics({ defaultMetrics: false }), log, {
    consumer: 'test-consumer',
    batchIntervalMs: 100,
    ...options,
  });
  cleanups.push(() => p.close());
  return p;
}

/**
 * The pair's stored ticks as their 1-based places in `accepted` (the order they were accepted in,
 * so their seqs), sorted: 1..N means each accepted tick stored once. A stored tick that was not
 * offered shows as 0.
 */
async function storedPlaces(db: TestSchema, pair: string, accepted: Tick[]): Promise<number[]> {
  const place = new Map(accepted.map((t, i) => [`${t.timestamp}|${t.price}`, i + 1]));
  const rows = await db.pool.query<{ timestamp: string; price: number }>('SELECT "timestamp", price FROM historical_ticks WHERE pair = $1', [pair]);
  return rows.rows.map((r) => place.get(`${r.timestamp}|${r.price}`) ?? 0).sort((a, b) => a - b);
}

/** Entries in the persist queue, entries read but not acknowledged, and ticks in the queue. */
async function queueState(prefix: string, client = redis) {
  const keys = new RedisKeys(prefix);
  const pending = (await client.xPending(keys.persistQueue(), PERSIST_GROUP)) as { pending: number };
  const ticks = Number((await client.get(keys.persistQueueTicks())) ?? 0);
  return { length: await client.xLen(keys.persistQueue()), pending: pending.pending, ticks };
}

function childEnv(db: TestSchema, prefix: string, extra: Record<string, string>): Record<string, string> {
  return { REDIS_URL: TEST_REDIS_URL, DATABASE_URL: db.url, KEY_PREFIX: prefix, ...extra };
}

describe('persistence to historical_ticks', () => {
  test('every accepted tick is stored once; the queue is emptied; health shows the last write', async () => {
    const t = await startTestApp({ BATCH_INTERVAL_MS: '200' });
    cleanups.push(() => t.close());
    const a = makeTicks('EUR/USD_otc', 700);
    const b = makeTicks('GBP/USD_otc', 300);
    expect((await postTicks(t.url, [...a, ...b])).body).toEqual({ accepted: 1000, duplicates: 0 });
    expect((await postTicks(t.url, a.slice(0, 50))).body).toEqual({ accepted: 0, duplicates: 50 });
    await waitFor(async () => (await t.db.count()) === 1000, 30_000, '1000 rows');
    expect(await storedPlaces(t.db, 'EUR/USD_otc', a)).toEqual(range(1, 700));
    const row = (await t.db.pool.query('SELECT pair, price, "timestamp", feed_id FROM historical_ticks WHERE "timestamp" = $1 AND pair = $2', [b[0]!.timestamp, 'GBP/USD_otc'])).rows;
    expect(row).toEqual([{ pair: 'GBP/USD_otc', price: b[0]!.price, timestamp: String(b[0]!.timestamp), feed_id: null }]);
    await waitFor(async () => (await queueState(t.prefix)).length === 0, 5000, 'queue emptied');
    expect((await queueState(t.prefix)).ticks).toBe(0);
    const health = await getJson(`${t.url}/health`);
    expect(health.persistence).toEqual({ pending: 0, lagMs: 0, lastWriteAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/quflx_persist_rows_total 1000/);
  });

  test('interval trigger: a few ticks wait for BATCH_INTERVAL_MS, then are written', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const p = persister(db, prefix, { batchIntervalMs: 1500 });
    p.start();
    await acceptedTicks(prefix, makeTicks('EUR/USD_otc', 10));
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 600));
    expect(await db.count()).toBe(0);
    await waitFor(async () => (await db.count()) === 10, 5000, 'interval flush');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  test('size trigger: a full batch of waiting ticks is written at once, long before the interval', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const p = persister(db, prefix, { batchIntervalMs: 60_000 });
    p.start();
    await acceptedTicks(prefix, makeTicks('EUR/USD_otc', PERSIST_BATCH_TICKS));
    await waitFor(async () => (await db.count()) === PERSIST_BATCH_TICKS, 15_000, 'size flush');
    await acceptedTicks(prefix, makeTicks('EUR/USD_otc', 10, Date.now()));
    await new Promise((r) => setTimeout(r, 800));
    expect(await db.count()).toBe(PERSIST_BATCH_TICKS); // the 10 wait for the interval
  });

  test('100,000 ticks of one pair accepted while no persister runs are all stored afterwards', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const ticks = makeTicks('EUR/USD_otc', 100_000, Date.now() - 200_000);
    const seqs = await acceptedTicks(prefix, ticks);
    expect(seqs.filter((s) => s > 0)).toHaveLength(100_000);
    // The recent list keeps 1000; the queue keeps them all.
    expect(await redis.lLen(new RedisKeys(prefix).ticks('EUR/USD_otc'))).toBe(1000);
    const p = persister(db, prefix, { batchIntervalMs: 200 });
    p.start();
    await waitFor(async () => (await db.count()) === 100_000, 60_000, '100k rows');
    expect(await storedPlaces(db, 'EUR/USD_otc', ticks)).toEqual(range(1, 100_000));
    await waitFor(async () => (await queueState(prefix)).length === 0, 5000, 'queue emptied');
  });

  test('a CSV import holding its pairs until it commits: the persister gives way (no deadlock) and stores every tick afterwards', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    // Both pairs known (EUR/USD_otc with the lower id, so the persister locks it first, then waits for GBP).
    await insertTicks(db.pool, makeTicks('EUR/USD_otc', 1, Date.now() - 300_000).map((t) => toRow(t)));
    await insertTicks(db.pool, makeTicks('GBP/USD_otc', 1, Date.now() - 300_000).map((t) => toRow(t)));
    const importer = await db.pool.connect();
    cleanups.push(() => importer.release());
    await importer.query('BEGIN');
    await insertTicks(importer, makeTicks('GBP/USD_otc', 100, Date.now() - 200_000).map((t) => toRow(t)));
    const metrics = new Metrics({ defaultMetrics: false });
    const p = new Persister(redis, db.pool, new RedisKeys(prefix), metrics, log, { consumer: 'live', batchIntervalMs: 100 });
    cleanups.push(() => p.close());
    p.start();
    await acceptedTicks(prefix, [...makeTicks('EUR/USD_otc', 200), ...makeTicks('GBP/USD_otc', 200, Date.now())]);
    // Longer than PostgreSQL's deadlock_timeout (1 s): had the persister kept waiting while holding
    // EUR/USD_otc, the import, asking for it next, would be the one a deadlock check cancels.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await db.count()).toBe(2);
    expect(await insertTicks(importer, makeTicks('EUR/USD_otc', 50, Date.now() - 250_000).map((t) => toRow(t)))).toBe(50);
    await importer.query('COMMIT');
    await waitFor(async () => (await db.count()) === 552, 15_000, 'every tick stored');
    // It gave up its lock waits meanwhile (and retried), as counted failures.
    expect((await metrics.persistFailures.get()).values[0]!.value).toBeGreaterThan(0);
  });

  test('the same tick twice in the queue is stored once; a poison row goes to rejected_ticks and the rest flows', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const keys = new RedisKeys(prefix);
    await acceptedTicks(prefix, makeTicks('EUR/USD_otc', 100));
    const tick = JSON.stringify({ pair: 'EUR/USD_otc', price: 1.5, timestamp: 1_732_300_000_000, seq: 9999 });
    await redis.xAdd(keys.persistQueue(), '*', { t: tick });
    await redis.xAdd(keys.persistQueue(), '*', { t: tick });
    // Longer than the column allows: the database refuses this one row.
    const poison = JSON.stringify({ pair: 'P'.repeat(40), price: 1, timestamp: 1_732_300_000_000, seq: 1 });
    await redis.xAdd(keys.persistQueue(), '*', { t: poison });
    await redis.xAdd(keys.persistQueue(), '*', { t: 'not json' });
    await acceptedTicks(prefix, makeTicks('GBP/USD_otc', 100));
    const p = persister(db, prefix);
    p.start();
    await waitFor(async () => (await db.count()) === 201, 10_000, 'rows');
    await waitFor(async () => (await db.count('SELECT count(*)::int AS n FROM rejected_ticks')) === 2, 5000, 'rejected rows');
    const rejected = (await db.pool.query<{ payload: string; reason: string }>('SELECT payload, reason FROM rejected_ticks ORDER BY payload')).rows;
    expect(rejected).toEqual([
      { payload: 'not json', reason: 'queue entry is not readable ticks' },
      { payload: poison, reason: expect.stringMatching(/too long.*22001/) },
    ]);
    expect(await db.count(`SELECT count(*)::int AS n FROM historical_ticks WHERE pair = 'EUR/USD_otc' AND "timestamp" = 1732300000000`)).toBe(1);
    await waitFor(async () => (await queueState(prefix)).length === 0, 5000, 'queue emptied');
  });

  test.each(['before-commit', 'after-commit'])('persister SIGKILLed %s: the batch is stored exactly once by the next start', async (phase) => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const ticks = makeTicks('EUR/USD_otc', 3000);
    await acceptedTicks(prefix, ticks);
    const child = new Child('test/helpers/persister-child.ts', childEnv(db, prefix, { CONSUMER: 'c1', HANG: phase }));
    cleanups.push(() => child.kill());
    await child.waitForLine(new RegExp(`HANG:${phase}`));
    await child.kill('SIGKILL');
    expect(await db.count()).toBe(phase === 'before-commit' ? 0 : 3000);
    // Nothing acknowledged: every entry read is still pending, and the queue still holds all 3000.
    expect((await queueState(prefix)).pending).toBeGreaterThan(0);
    expect((await queueState(prefix)).ticks).toBe(3000);
    // The same consumer starts again and finishes its own pending entries first.
    const p = persister(db, prefix, { consumer: 'c1' });
    p.start();
    await waitFor(async () => (await queueState(prefix)).length === 0, 10_000, 'queue emptied');
    expect(await storedPlaces(db, 'EUR/USD_otc', ticks)).toEqual(range(1, 3000));
  });

  test('two persisters, one killed: the other claims its pending entries', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const first = makeTicks('EUR/USD_otc', 2000);
    await acceptedTicks(prefix, first);
    const child = new Child('test/helpers/persister-child.ts', childEnv(db, prefix, { CONSUMER: 'dies', HANG: 'before-commit' }));
    cleanups.push(() => child.kill());
    await child.waitForLine(/HANG:before-commit/);
    await child.kill('SIGKILL');
    const survivor = persister(db, prefix, { consumer: 'survives', claimIdleMs: 500 });
    survivor.start();
    const later = makeTicks('EUR/USD_otc', 500, Date.now());
    await acceptedTicks(prefix, later);
    await waitFor(async () => (await queueState(prefix)).length === 0, 15_000, 'queue emptied');
    expect(await storedPlaces(db, 'EUR/USD_otc', [...first, ...later])).toEqual(range(1, 2500));
  });

  test('the whole QuFLX process SIGKILLed mid-stream and restarted: every accepted tick stored once', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: prefix,
      PORT: '0',
      FEED: 'simulated',
      ASSETS: 'EUR/USD_otc,GBP/USD_otc',
      TICKS_PER_MINUTE: '60000',
      SIMULATOR_HISTORY_HOURS: '0',
      BATCH_INTERVAL_MS: '300',
      PERSIST_CONSUMER: 'proc-1',
      LOG_LEVEL: 'info',
    };
    const first = new Child('src/main.ts', env);
    cleanups.push(() => first.kill());
    await first.waitForLine(/QuFLX is running/);
    await waitFor(async () => (await db.count()) > 500, 30_000, 'rows before the kill');
    await first.kill('SIGKILL');
    const second = new Child('src/main.ts', { ...env, FEED: 'none' });
    cleanups.push(() => second.kill());
    await second.waitForLine(/QuFLX is running/);
    await waitFor(async () => (await queueState(prefix)).length === 0, 30_000, 'queue emptied');
    await second.kill('SIGTERM');
    for (const pair of ['EUR/USD_otc', 'GBP/USD_otc']) {
      const accepted = Number(await redis.get(new RedisKeys(prefix).seq(pair)));
      expect(accepted).toBeGreaterThan(100);
      // The simulator's ticks: as many stored as accepted, each identity once.
      const stored = await db.pool.query('SELECT count(*)::int AS n, count(DISTINCT ("timestamp", price, feed_id))::int AS distinct FROM historical_ticks WHERE pair = $1', [pair]);
      expect(stored.rows[0]).toEqual({ n: accepted, distinct: accepted });
    }
  }, 90_000); // two starts, each loading the persister thread (slow on a loaded machine)

  test('SIGTERM writes the batch in hand before exit', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const child = new Child('src/main.ts', {
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: prefix,
      PORT: '0',
      FEED: 'none',
      BATCH_INTERVAL_MS: '600000',
      PERSIST_CONSUMER: 'sigterm',
      LOG_LEVEL: 'info',
    });
    cleanups.push(() => child.kill());
    const line = await child.waitForLine(/QuFLX is running/);
    const url = JSON.parse(line).url as string;
    const ticks = makeTicks('EUR/USD_otc', 300);
    expect((await postTicks(url, ticks)).status).toBe(202);
    await waitFor(async () => {
      const q = await queueState(prefix);
      return q.pending > 0 && q.ticks === 300;
    }, 5000, 'batch in hand');
    expect(await db.count()).toBe(0);
    expect(await child.kill('SIGTERM')).toBe(0);
    expect(await storedPlaces(db, 'EUR/USD_otc', ticks)).toEqual(range(1, 300));
    expect((await queueState(prefix)).length).toBe(0);
  });

  test('close() also stores ticks queued but not yet read (the reader was waiting on a write)', async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    const queue = new RedisKeys(prefix).persistQueue();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    cleanups.push(() => release());
    let commits = 0;
    // The first batch's commit waits at the gate; with one writer the reader then waits at its next flush.
    const p = persister(db, prefix, { hooks: { beforeCommit: () => (commits++ === 0 ? gate : Promise.resolve()) } });
    p.start();
    /** Entries of the queue not yet delivered to the persister. */
    const unread = async () => Number((await redis.sendCommand<unknown[][]>(['XINFO', 'GROUPS', queue]))[0]!.at(-1));
    const ticks = makeTicks('EUR/USD_otc', 70);
    await acceptedTicks(prefix, ticks.slice(0, 10));
    await waitFor(() => commits === 1, 5000, 'first batch at its commit');
    await acceptedTicks(prefix, ticks.slice(10, 30));
    await waitFor(async () => (await unread()) === 0, 5000, 'second batch read');
    await new Promise((r) => setTimeout(r, 500)); // its interval passes: the reader waits for the writer
    await acceptedTicks(prefix, ticks.slice(30));
    await new Promise((r) => setTimeout(r, 300));
    expect(await unread()).toBeGreaterThan(0);
    const closed = p.close();
    release();
    await closed;
    expect(await storedPlaces(db, 'EUR/USD_otc', ticks)).toEqual(range(1, 70));
    expect(await queueState(prefix)).toEqual({ length: 0, pending: 0, ticks: 0 });
  });

  test('Redis with AOF SIGKILLed and restarted: every accepted tick stored once', async () => {
    const redisProc = await RedisProcess.start('always');
    cleanups.push(() => redisProc.stop());
    const t = await startTestApp({ REDIS_URL: redisProc.url, BATCH_INTERVAL_MS: '200' });
    cleanups.push(() => t.close());
    const ticks = makeTicks('EUR/USD_otc', 4000);
    let offered = 0;
    const feeding = (async () => {
      for (; offered < ticks.length; offered += 20) {
        t.app.ingestor.offer(ticks.slice(offered, offered + 20), 'ws');
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    await waitFor(async () => (await t.db.count()) > 300, 30_000, 'rows before the kill');
    await redisProc.kill();
    await new Promise((r) => setTimeout(r, 700));
    await redisProc.startServer();
    await feeding;
    const check = createClient({ url: redisProc.url, RESP: 2 });
    await check.connect();
    cleanups.push(() => check.close());
    await waitFor(async () => t.app.ingestor.backlog === 0 && (await check.xLen(`${t.prefix}queue:persist`)) === 0, 20_000, 'all persisted');
    expect(await check.get(`${t.prefix}seq:EURUSD_otc`)).toBe('4000');
    expect(await storedPlaces(t.db, 'EUR/USD_otc', ticks)).toEqual(range(1, 4000));
  });

  test('the database link cut for 10 s: health degraded, backlog waits in Redis, then all stored once', async () => {
    const base = new URL(TEST_DATABASE_URL);
    const proxy = new TcpProxy(base.hostname, Number(base.port || 5432));
    await proxy.start();
    cleanups.push(() => proxy.close());
    const db = await schema();
    const viaProxy = new URL(TEST_DATABASE_URL);
    viaProxy.port = String(proxy.port);
    const t = await startTestApp({ DATABASE_URL: withSearchPath(viaProxy.toString(), db.schema), BATCH_INTERVAL_MS: '200' }, { db });
    cleanups.push(() => t.close());
    const before = makeTicks('EUR/USD_otc', 100);
    await postTicks(t.url, before);
    await waitFor(async () => (await db.count()) === 100, 10_000, 'first rows');
    // Stored is not yet taken off the queue: the persister thread (at a low priority) does that
    // after its commit, which a saturated machine can delay.
    await waitFor(async () => (await getJson(`${t.url}/health`)).persistence.pending === 0, 10_000, 'first rows off the queue');

    await proxy.cut();
    const during = makeTicks('EUR/USD_otc', 1000, Date.now() - 5000).slice(100);
    for (let i = 0; i < during.length; i += 100) expect((await postTicks(t.url, during.slice(i, i + 100))).status).toBe(202);
    const health = await getJson(`${t.url}/health`);
    expect(health).toMatchObject({ status: 'degraded', database: { status: 'down' }, persistence: { pending: 900 } });
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await db.count()).toBe(100);
    expect((await getJson(`${t.url}/health`)).persistence.lagMs).toBeGreaterThan(9000);
    await proxy.restore();

    await waitFor(async () => (await db.count()) === 1000, 30_000, 'backlog stored');
    await waitFor(async () => (await getJson(`${t.url}/health`)).persistence.pending === 0, 5000, 'queue emptied');
    expect(await storedPlaces(db, 'EUR/USD_otc', [...before, ...during])).toEqual(range(1, 1000));
    expect((await getJson(`${t.url}/health`)).status).toBe('ok');
  }, 60_000);
});
