import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { describe, expect, test } from 'vitest';
import { isAlive, readPidFile } from '../../src/lib/processes.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { PERSIST_GROUP, RedisKeys } from '../../src/redis/keys.js';
import { ticksFor, type PostedTick } from '../helpers/posted-ticks.js';
import { TickCollector } from '../helpers/socket-client.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { sample } from '../helpers/prometheus-text.js';
import { freshRequest, WorkersChild } from '../helpers/workers-child.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

/**
 * WORKERS=2 as `npm start` runs it: a primary and two node:cluster workers on one port, each
 * with its own Redis links and persist consumer, against the real Redis and PostgreSQL.
 */

const cleanups = cleanupsAfterEach();

const PAIRS = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc'];

async function metrics(url: string): Promise<string> {
  return (await freshRequest(`${url}/metrics`, 'GET')).text;
}

/** Pending entries of the persist queue per consumer (the queue's stream is named by RedisKeys). */
async function pendingIds(redis: RedisClient, keys: RedisKeys, consumer: string): Promise<string[]> {
  const rows = await redis.xPendingRange(keys.persistQueue(), PERSIST_GROUP, '-', '+', 100_000, { consumer });
  return rows.map((r) => r.id);
}

/** A schema, a key prefix and a Redis client of the test's own, removed after it. */
async function place(): Promise<{ db: TestSchema; prefix: string; keys: RedisKeys; redis: RedisClient }> {
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  const prefix = uniquePrefix();
  cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
  const redis = await connectRedis(TEST_REDIS_URL, 'workers-test', createLogger('silent'));
  cleanups.push(() => redis.close());
  return { db, prefix, keys: new RedisKeys(prefix), redis };
}

describe('WORKERS=2', () => {
  test('one port, ticks land once, every subscriber on either worker gets every tick in order, one /metrics, a killed worker is replaced and loses nothing, SIGINT stops all', async () => {
    const { db, prefix, keys, redis } = await place();
    const quflx = new WorkersChild({
      WORKERS: '2',
      PORT: '0',
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: prefix,
      FEED: 'none',
      // Entries stay pending with their consumer until shutdown (or a successor) writes them.
      BATCH_INTERVAL_MS: '600000',
      PERSIST_CONSUMER: 'wk',
    });
    cleanups.push(() => quflx.kill());
    const url = await quflx.running();

    // Two workers, each its own process, on the one port the primary reports.
    const started = quflx.startedPids();
    expect(started.map((p) => p.worker).sort()).toEqual([0, 1]);
    expect(new Set(started.map((p) => p.pid)).size).toBe(2);
    expect(quflx.logs('worker is running').map((l) => l.url)).toEqual([url, url]);

    // Long-polling cannot work across workers: its handshake is refused with the reason.
    const polling = await freshRequest(`${url}/socket.io/?EIO=4&transport=polling`, 'GET');
    expect(polling.status).toBe(403);
    expect(JSON.parse(polling.text).message).toMatch(/runs 2 worker processes.*websocket transport only/);
    const pollingClient = io(url, { transports: ['polling'], reconnection: false, forceNew: true });
    cleanups.push(() => pollingClient.close());
    await expect(
      new Promise((resolve, reject) => {
        pollingClient.once('connect', () => reject(new Error('a polling-only client connected')));
        pollingClient.once('connect_error', resolve);
      }),
    ).resolves.toBeInstanceOf(Error);

    // Websocket subscribers until both workers hold some. The primary hands connections to the
    // workers in turn, so two sockets opened back to back (no other connection between) split.
    const collectors: TickCollector[] = [];
    cleanups.push(() => collectors.forEach((c) => c.close()));
    const socketsOn = async () => {
      const text = await metrics(url);
      return [0, 1].map((i) => sample(text, 'quflx_socket_clients', { worker: String(i) }) ?? 0);
    };
    for (;;) {
      const pair = await Promise.all([TickCollector.connect(url), TickCollector.connect(url)]);
      collectors.push(...pair);
      const counts = (await waitFor(async () => {
        const c = await socketsOn();
        return c[0]! + c[1]! === collectors.length ? c : null;
      }, 10_000, 'sockets counted'))!;
      if (counts[0]! > 0 && counts[1]! > 0) break;
      expect(collectors.length).toBeLessThan(12);
    }
    for (const c of collectors) for (const pair of PAIRS) expect(await c.subscribe(pair)).toMatchObject({ ok: true });

    // Ticks posted over fresh connections (spread over both workers): every one accepted once.
    const acknowledged: PostedTick[] = [];
    const post = async (ticks: PostedTick[]) => {
      const res = await freshRequest(`${url}/api/ticks`, 'POST', ticks);
      expect(res.status).toBe(202);
      expect(JSON.parse(res.text)).toEqual({ accepted: ticks.length, duplicates: 0 });
      acknowledged.push(...ticks);
    };
    const PER_PAIR = 200;
    for (let round = 0; round < PER_PAIR / 5; round++) {
      await Promise.all(PAIRS.map((pair) => post(ticksFor(pair, 'a', round * 5, 5))));
    }
    const m = await metrics(url);
    const http0 = sample(m, 'quflx_ticks_accepted_total', { source: 'http', worker: '0' }) ?? 0;
    const http1 = sample(m, 'quflx_ticks_accepted_total', { source: 'http', worker: '1' }) ?? 0;
    expect(http0).toBeGreaterThan(0);
    expect(http1).toBeGreaterThan(0);
    expect(http0 + http1).toBe(PAIRS.length * PER_PAIR);
    // Both workers, and the primary, in the one /metrics, whichever worker answered.
    for (const worker of ['0', '1', 'primary']) {
      expect(sample(m, 'quflx_process_cpu_seconds_total', { worker })).toBeGreaterThan(0);
      expect(sample(m, 'quflx_process_resident_memory_bytes', { worker })).toBeGreaterThan(0);
    }
    expect(sample(m, 'quflx_workers', { worker: 'primary' })).toBe(2);

    // Each subscriber, on either worker, gets every tick of every pair once, in seq order.
    const want = Array.from({ length: PER_PAIR }, (_, i) => i + 1);
    await waitFor(() => collectors.every((c) => PAIRS.every((p) => c.ticks(p).length >= PER_PAIR)), 60_000, 'every tick at every subscriber');
    for (const c of collectors) for (const p of PAIRS) expect(c.ticks(p).map((t) => t.seq)).toEqual(want);

    // /health reads the same from either worker: the pairs both workers heard, merged.
    for (let i = 0; i < 4; i++) {
      const health = JSON.parse((await freshRequest(`${url}/health`, 'GET')).text);
      expect(health).toMatchObject({ status: 'ok', redis: { status: 'up' }, database: { status: 'up' }, feed: { kind: 'none', status: 'off' } });
      expect(health.feed.pairs.map((p: { pair: string }) => p.pair).sort()).toEqual([...PAIRS].sort());
    }

    // Each worker is its own persist consumer; make sure worker 1 holds entries before it dies.
    // (Each worker's persister thread reads from about a second after its start, later on a busy machine.)
    let extra = PER_PAIR;
    const holding = Date.now() + 30_000;
    while ((await pendingIds(redis, keys, 'wk-w1')).length === 0 || (await pendingIds(redis, keys, 'wk-w0')).length === 0) {
      expect(Date.now(), 'both persister threads hold entries within 30 s').toBeLessThan(holding);
      await Promise.all(PAIRS.map((pair) => post(ticksFor(pair, 'a', extra, 5))));
      extra += 5;
      await sleep(20);
    }
    const heldByDead = await pendingIds(redis, keys, 'wk-w1');

    // SIGKILL worker 1 while ticks keep coming: posts it had not answered are not acknowledged.
    const oldPid = quflx.workerPid(1);
    let posting = true;
    let killed = false;
    let acknowledgedAfterKill = 0;
    let n = 0;
    const attempted: PostedTick[] = [];
    const loop = (async () => {
      while (posting) {
        const ticks = ticksFor(PAIRS[n % PAIRS.length]!, 'k', n * 3, 3);
        n++;
        attempted.push(...ticks);
        const res = await freshRequest(`${url}/api/ticks`, 'POST', ticks, 3000).catch(() => null);
        if (res?.status === 202) {
          acknowledged.push(...ticks);
          if (killed) acknowledgedAfterKill++;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    process.kill(oldPid, 'SIGKILL');
    killed = true;
    await waitFor(() => !isAlive(oldPid), 10_000, 'worker 1 dead');
    // Worker 0 goes on serving meanwhile.
    await waitFor(() => acknowledgedAfterKill >= 3, 20_000, 'posts answered while worker 1 is down');
    posting = false;
    await loop;

    // Replaced under the same index, and its successor writes what the dead one held.
    await waitFor(() => quflx.logs('worker replaced').some((l) => l.worker === 1), 90_000, 'worker 1 replaced');
    const newPid = quflx.workerPid(1);
    expect(newPid).not.toBe(oldPid);
    expect(isAlive(newPid)).toBe(true);
    expect(heldByDead.length).toBeGreaterThan(0);
    await waitFor(async () => {
      const still = new Set(await pendingIds(redis, keys, 'wk-w1'));
      return heldByDead.every((id) => !still.has(id));
    }, 60_000, "the dead worker's pending entries written by its successor");
    expect(sample(await metrics(url), 'quflx_worker_restarts_total', { worker: '1' })).toBe(1);
    expect(sample(await metrics(url), 'quflx_workers', { worker: 'primary' })).toBe(2);

    // Ctrl+C: every worker closes (writing what it holds), then the primary exits 0; nothing is left.
    expect(await quflx.child.kill('SIGINT')).toBe(0);
    expect(quflx.alive()).toEqual([]);
    expect(quflx.logs('worker stopped').map((l) => l.code)).toEqual([0, 0]);

    // Every acknowledged tick stored exactly once; nothing stored that was not sent; seq = rows per pair.
    const rows = (await db.pool.query<{ pair: string; feed_id: string }>('SELECT pair, feed_id FROM historical_ticks')).rows;
    const stored = rows.map((r) => `${r.pair}|${r.feed_id}`);
    expect(new Set(stored).size).toBe(stored.length);
    const storedSet = new Set(stored);
    const missing = acknowledged.filter((t) => !storedSet.has(`${t.pair}|${t.id}`));
    expect(missing).toEqual([]);
    const sent = new Set([...acknowledged, ...attempted].map((t) => `${t.pair}|${t.id}`));
    expect(stored.filter((s) => !sent.has(s))).toEqual([]);
    for (const pair of PAIRS) {
      expect(Number(await redis.get(keys.seq(pair)))).toBe(rows.filter((r) => r.pair === pair).length);
    }
    expect((await redis.xPending(keys.persistQueue(), PERSIST_GROUP)).pending).toBe(0);
  }, 240_000);

  test('embedded Redis and PostgreSQL: started once by the primary, shared by the workers, stopped after them', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'quflx-workers-'));
    // As root, PostgreSQL runs as the postgres user, which must reach its folder inside.
    chmodSync(dataDir, 0o755);
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const quflx = new WorkersChild({
      WORKERS: '2',
      PORT: '0',
      // Empty counts as unset: the embedded servers, whatever the test runner's environment says.
      REDIS_URL: '',
      DATABASE_URL: '',
      QUFLX_DATA_DIR: dataDir,
      FEED: 'none',
    });
    cleanups.push(async () => {
      quflx.kill();
      // Should the test fail half-way, stop the servers the primary started.
      for (const file of [path.join(dataDir, 'redis', 'redis.pid'), path.join(dataDir, 'pg', 'postmaster.pid')]) {
        const pid = await readPidFile(file);
        if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
    const url = await quflx.running(120_000);

    // One owner of the data folder: the primary; one redis-server and one PostgreSQL.
    const runtime = JSON.parse(readFileSync(path.join(dataDir, 'runtime.json'), 'utf8'));
    expect(runtime.pid).toBe(quflx.pid);
    expect(quflx.logs('embedded redis-server started')).toHaveLength(1);
    expect(quflx.logs('embedded PostgreSQL started')).toHaveLength(1);
    const redisPid = (await readPidFile(path.join(dataDir, 'redis', 'redis.pid')))!;
    const pgPid = (await readPidFile(path.join(dataDir, 'pg', 'postmaster.pid')))!;
    expect(isAlive(redisPid) && isAlive(pgPid)).toBe(true);
    const running = quflx.logs('worker is running');
    expect(running.map((l) => [l.redis, l.database])).toEqual([
      ['redis-server', 'embedded'],
      ['redis-server', 'embedded'],
    ]);

    // A second server on this folder is refused while the primary owns it.
    const second = new WorkersChild({ WORKERS: '2', PORT: '0', REDIS_URL: '', DATABASE_URL: '', QUFLX_DATA_DIR: dataDir, FEED: 'none' });
    cleanups.push(() => second.kill());
    expect(await second.child.wait()).toBe(1);
    expect(second.child.lines.join('\n')).toContain(`QuFLX already runs from ${dataDir} (pid ${quflx.pid})`);

    // Both workers write to the same servers: a tick posted to either is one tick.
    const tick = { pair: 'EUR/USD_otc', price: 1.0823, timestamp: Date.now() };
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(JSON.parse((await freshRequest(`${url}/api/ticks`, 'POST', tick)).text));
    expect(answers).toEqual([{ accepted: 1, duplicates: 0 }, ...Array(3).fill({ accepted: 0, duplicates: 1 })]);
    for (let i = 0; i < 4; i++) {
      expect(JSON.parse((await freshRequest(`${url}/health`, 'GET')).text)).toMatchObject({ redis: { status: 'up', kind: 'redis-server' }, database: { status: 'up', kind: 'embedded' } });
    }

    // Ctrl+C: workers first, then the servers, then the ownership record.
    expect(await quflx.child.kill('SIGINT')).toBe(0);
    expect(quflx.alive()).toEqual([]);
    expect(isAlive(redisPid)).toBe(false);
    expect(isAlive(pgPid)).toBe(false);
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);
    // The primary's own lines: both workers gone before it stopped the servers and itself.
    const primarySteps = quflx.child.lines
      .map((l) => JSON.parse(l) as { msg: string; worker?: number })
      .filter((l) => l.msg === 'worker stopped' || (l.msg === 'QuFLX stopped' && l.worker === undefined))
      .map((l) => l.msg);
    expect(primarySteps).toEqual(['worker stopped', 'worker stopped', 'QuFLX stopped']);
  }, 240_000);

  test('the feed and the simulator history run once, in worker 0; /health shows the feed from either worker; a repeated SIGTERM is ignored', async () => {
    const { db, prefix, keys, redis } = await place();
    const assets = ['EUR/USD_otc', 'GBP/USD_otc'];
    const quflx = new WorkersChild({
      WORKERS: '2',
      PORT: '0',
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: prefix,
      FEED: 'simulated',
      ASSETS: assets.join(','),
      TICKS_PER_MINUTE: '3000',
      SIMULATOR_HISTORY_HOURS: '1',
      BATCH_INTERVAL_MS: '500',
      PERSIST_CONSUMER: 'feed',
    });
    cleanups.push(() => quflx.kill());
    const url = await quflx.running();
    expect(quflx.logs('worker is running').map((l) => [l.worker, l.feed]).sort()).toEqual([
      [0, 'simulated'],
      [1, 'none'],
    ]);
    await waitFor(() => quflx.logs('simulator history written').length === assets.length, 60_000, 'history written');
    await waitFor(async () => (sample(await metrics(url), 'quflx_ticks_accepted_total', { source: 'simulator', worker: '0' }) ?? 0) > 100, 30_000, 'simulator ticks');

    // Worker 0's persister stores live ticks as they come (the shutdown below writes only the batch in hand).
    await waitFor(async () => (sample(await metrics(url), 'quflx_persist_rows_total', { worker: '0' }) ?? 0) > 0, 30_000, 'live ticks stored');

    const m = await metrics(url);
    expect(sample(m, 'quflx_ticks_accepted_total', { source: 'simulator', worker: '1' })).toBeNull();
    // One history per pair, written by worker 0.
    expect(quflx.logs('simulator history written').map((l) => [l.worker, l.pair]).sort()).toEqual(assets.map((p) => [0, p]).sort());
    // Every worker's /health shows the simulator up and both pairs fresh.
    for (let i = 0; i < 4; i++) {
      const health = JSON.parse((await freshRequest(`${url}/health`, 'GET')).text);
      expect(health.feed).toMatchObject({ kind: 'simulated', status: 'up', stale: [] });
      expect(health.feed.pairs.map((p: { pair: string }) => p.pair).sort()).toEqual(assets);
    }

    // SIGTERM twice: the second is ignored, the shutdown is the same ordered one.
    quflx.child.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    quflx.child.process.kill('SIGTERM');
    expect(await quflx.child.wait()).toBe(0);
    expect(quflx.alive()).toEqual([]);
    expect(quflx.logs('shutting down').filter((l) => l.worker === undefined)).toHaveLength(1);
    // One simulator (its ids are sim-<run>-<n>, the history's sim-history-...): each pair's seq
    // counts its live ticks, and every one of them is stored once.
    for (const pair of assets) {
      const seq = Number(await redis.get(keys.seq(pair)));
      const live = await db.pool.query<{ n: number; runs: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT split_part(feed_id, '-', 2))::int AS runs FROM historical_ticks
         WHERE pair = $1 AND feed_id LIKE 'sim-%' AND feed_id NOT LIKE 'sim-history-%'`,
        [pair],
      );
      expect(seq).toBeGreaterThan(0);
      expect(live.rows[0]).toEqual({ n: seq, runs: 1 });
    }
  }, 240_000);
});
