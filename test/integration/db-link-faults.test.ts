import { describe, expect, test } from 'vitest';
import { LAG_WARNING_EVERY_MS } from '../../src/persist/persister.js';
import { Child, serverEnv } from '../helpers/child.js';
import { sample } from '../helpers/prometheus-text.js';
import { proxyToTestDatabase, type TcpProxy } from '../helpers/tcp-proxy.js';
import { deleteKeys, TEST_DATABASE_URL, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

/**
 * The PostgreSQL link breaking under a running QuFLX (a process of its own, so a crash shows as
 * an exit): TCP resets of live links while batches are written and candle misses read, and a
 * freeze longer than the query timeout. The process must stay up, and afterwards every tick it
 * acknowledged must be stored exactly once.
 */

const cleanups = cleanupsAfterEach();

const PAIR = 'EUR/USD_otc';
const QUERY_TIMEOUT_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Running {
  child: Child;
  url: string;
  prefix: string;
  db: TestSchema;
  proxy: TcpProxy;
  alive(): boolean;
  logs(pattern: RegExp): unknown[];
}

async function startBehindProxy(batchIntervalMs: string): Promise<Running> {
  const { proxy, urlFor } = await proxyToTestDatabase(TEST_DATABASE_URL);
  cleanups.push(() => proxy.close());
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  const prefix = uniquePrefix();
  cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
  const child = new Child(
    'src/main.ts',
    serverEnv(TEST_REDIS_URL, prefix, urlFor(db.schema), {
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      BATCH_INTERVAL_MS: batchIntervalMs,
      CANDLE_CACHE_SIZE: '10',
      PERSIST_CONSUMER: `faults-${prefix}`,
    }),
  );
  cleanups.push(() => child.kill('SIGKILL'));
  const running = JSON.parse(await child.waitForLine(/QuFLX is running/, 60_000)) as { url: string };
  const parsed = () => child.lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as { msg?: string }];
    } catch {
      return [];
    }
  });
  return {
    child,
    url: running.url,
    prefix,
    db,
    proxy,
    alive: () => child.process.exitCode === null && child.process.signalCode === null,
    logs: (pattern) => parsed().filter((l) => pattern.test(l.msg ?? '')),
  };
}

/** Posts ticks (each one new) until stopped; keeps the ones answered 202. */
function postLoop(url: string) {
  const acked: { price: number; timestamp: number }[] = [];
  const statuses = new Map<string, number>();
  let stop = false;
  let i = 0;
  const start = Date.now() - 30 * 60_000;
  const done = (async () => {
    while (!stop) {
      const ticks = Array.from({ length: 40 }, () => {
        i++;
        return { pair: PAIR, price: Number((1.1 + (i % 997) / 100_000).toFixed(5)), timestamp: start + i * 20 };
      });
      try {
        const res = await fetch(`${url}/api/ticks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ticks) });
        statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
        await res.arrayBuffer();
        if (res.status === 202) acked.push(...ticks);
      } catch (err) {
        statuses.set(`error ${(err as Error).message}`, (statuses.get(`error ${(err as Error).message}`) ?? 0) + 1);
      }
      await sleep(10);
    }
  })();
  return { acked, statuses, stop: () => ((stop = true), done) };
}

/** Reads candles beyond the cache (CANDLE_CACHE_SIZE 10 < limit), so every read goes to PostgreSQL. */
function candleMissLoop(url: string) {
  const statuses = new Map<string, number>();
  let stop = false;
  const done = (async () => {
    while (!stop) {
      for (const tf of ['5S', '15S', '1M']) {
        try {
          const res = await fetch(`${url}/api/candles?pair=${encodeURIComponent(PAIR)}&timeframe=${tf}&limit=60`);
          await res.arrayBuffer();
          statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
        } catch (err) {
          statuses.set(`error ${(err as Error).message}`, (statuses.get(`error ${(err as Error).message}`) ?? 0) + 1);
        }
      }
    }
  })();
  return { statuses, stop: () => ((stop = true), done) };
}

/** Every acknowledged tick is in historical_ticks exactly once, and nothing else is. */
async function expectStoredOnce(db: TestSchema, acked: { price: number; timestamp: number }[]): Promise<void> {
  await waitFor(async () => (await db.count()) >= acked.length, 60_000, `${acked.length} rows stored`);
  const rows = (
    await db.pool.query<{ price: number; timestamp: string; n: number }>(
      `SELECT price, timestamp, count(*)::int AS n FROM historical_ticks WHERE pair = $1 GROUP BY price, timestamp`,
      [PAIR],
    )
  ).rows;
  const stored = new Map(rows.map((r) => [`${Number(r.timestamp)}:${r.price}`, r.n]));
  const want = new Set(acked.map((t) => `${t.timestamp}:${t.price}`));
  expect(want.size).toBe(acked.length);
  const missing = [...want].filter((k) => !stored.has(k));
  const doubled = [...stored].filter(([, n]) => n !== 1);
  const extra = [...stored.keys()].filter((k) => !want.has(k));
  expect({ missing: missing.length, doubled: doubled.length, extra: extra.length }).toEqual({ missing: 0, doubled: 0, extra: 0 });
  expect(await db.count()).toBe(acked.length);
}

describe('PostgreSQL link faults under a running QuFLX', () => {
  test('TCP resets of live links during writes and candle misses never end the process; every acked tick is stored once', async () => {
    const r = await startBehindProxy('50');
    const posting = postLoop(r.url);
    await waitFor(async () => (await r.db.count().catch(() => 0)) > 200, 20_000, 'first batches stored');
    const reading = candleMissLoop(r.url);

    let resets = 0;
    let hitWaiting = 0;
    for (let n = 0; n < 15; n++) {
      // Prefer a moment when a query is on the wire: its client is checked out of the pool.
      const deadline = Date.now() + 2000;
      while (r.proxy.waiting === 0 && Date.now() < deadline) await sleep(1);
      if (r.proxy.waiting > 0) hitWaiting++;
      if (r.proxy.reset() > 0) resets++;
      await sleep(150 + Math.random() * 200);
      expect(r.alive(), `QuFLX exited after reset ${n + 1}: ${r.child.lines.slice(-5).join('\n')}`).toBe(true);
    }
    expect(resets).toBeGreaterThanOrEqual(10);
    expect(hitWaiting).toBeGreaterThanOrEqual(5);

    await sleep(1000);
    await reading.stop();
    await posting.stop();
    expect(r.alive()).toBe(true);
    // HTTP kept answering: ingest never depends on PostgreSQL; candle reads are 200 or a 503 to retry.
    expect([...posting.statuses.keys()]).toEqual(['202']);
    expect([...reading.statuses.keys()].filter((s) => s !== '200' && s !== '503')).toEqual([]);
    await expectStoredOnce(r.db, posting.acked);
    expect(r.alive()).toBe(true);
    expect(r.logs(/database connection lost/).length).toBeGreaterThan(0);
  }, 180_000);

  test('a freeze longer than the query timeout: health answers, the persister times out and retries, lag is warned; after release all is stored once', async () => {
    // Lag is warned past twice the interval (2 s): reached only through the freeze.
    const r = await startBehindProxy('1000');
    const posting = postLoop(r.url);
    await waitFor(async () => (await r.db.count().catch(() => 0)) > 200, 20_000, 'first batches stored');
    const reading = candleMissLoop(r.url);
    await sleep(300);

    r.proxy.freeze();
    const frozenAt = Date.now();
    // While frozen: /health answers (the database probe has its own deadline) and says so.
    await waitFor(async () => {
      const res = await fetch(`${r.url}/health`, { signal: AbortSignal.timeout(5000) });
      const h = (await res.json()) as { status: string; database: { status: string } };
      return res.status === 200 && h.status === 'degraded' && h.database.status === 'down';
    }, 15_000, 'health degraded while the database link is frozen');
    // Frozen for well over the query timeout and the lag threshold.
    await waitFor(() => r.logs(/database link stalled/).length > 0, 4 * QUERY_TIMEOUT_MS + 10_000, 'a stalled-link log line');
    await waitFor(() => r.logs(/database write failed; retrying/).length > 0, 20_000, 'a persister retry');
    // It counts what it retries right: queue entries, and the ticks in them (each POST's 40 ticks of one pair share an entry).
    const retry = r.logs(/database write failed; retrying/)[0] as { entries: number; ticks: number };
    expect(retry.entries).toBeGreaterThan(0);
    expect(retry.ticks).toBeGreaterThanOrEqual(40 * retry.entries);
    // The gauge shows the lag; the warning is logged at most every 30 s, so on a loaded machine
    // the one about the late start of the persister thread can stand for this one too.
    await waitFor(async () => (sample(await (await fetch(`${r.url}/metrics`)).text(), 'quflx_persist_lag_seconds', {}) ?? 0) > 2, 20_000, 'the lag gauge past 2 s');
    await waitFor(() => r.logs(/lag is over twice the batch interval/).some((l) => (l as { time: number }).time > frozenAt - LAG_WARNING_EVERY_MS), 20_000, 'a lag warning');
    while (Date.now() - frozenAt < 4 * QUERY_TIMEOUT_MS) await sleep(100);
    expect(r.alive()).toBe(true);
    r.proxy.release();

    await sleep(2000);
    await reading.stop();
    await posting.stop();
    expect(r.alive()).toBe(true);
    expect([...posting.statuses.keys()]).toEqual(['202']);
    expect([...reading.statuses.keys()].filter((s) => s !== '200' && s !== '503')).toEqual([]);
    await expectStoredOnce(r.db, posting.acked);
    await waitFor(async () => {
      const h = (await (await fetch(`${r.url}/health`)).json()) as { status: string };
      return h.status === 'ok';
    }, 20_000, 'health ok after release');
    expect(r.alive()).toBe(true);
  }, 180_000);
});
