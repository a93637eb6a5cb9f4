import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { PersisterThread, type PersisterThreadOptions } from '../../src/persist/persister-thread.js';
import { connectRedis } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { TickStore } from '../../src/redis/tick-store.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { makeTicks } from '../helpers/socket-client.js';
import { createTestSchema } from '../helpers/test-db.js';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';

const cleanups = cleanupsAfterEach();

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

function options(prefix: string, databaseUrl: string, redisUrl = TEST_REDIS_URL): PersisterThreadOptions {
  return {
    redisTarget: { urls: [redisUrl], cluster: false },
    keyPrefix: prefix,
    databaseUrl,
    databaseKind: 'external',
    consumer: `thread-${prefix}`,
    batchIntervalMs: 100,
    logLevel: 'silent',
  };
}

describe('the persister thread', () => {
  test('stores accepted ticks once, and its metrics and last write reach the server side', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    await migrate(db.pool, createLogger('silent'));
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const redis = await connectRedis(TEST_REDIS_URL, 'thread-test', createLogger('silent'));
    cleanups.push(() => redis.close());
    const ticks = [...makeTicks('EUR/USD_otc', 300), ...makeTicks('GBP/USD_otc', 200)];
    const store = new TickStore(redis, new RedisKeys(prefix), { tickBufferSize: 1000, candleCacheSize: 200 });
    await store.init();
    await store.write(ticks);

    const metrics = new Metrics({ defaultMetrics: false });
    const { log, lines } = capturingLogger();
    const thread = new PersisterThread(options(prefix, db.url), metrics, log);
    cleanups.push(() => thread.close());
    thread.start();
    await waitFor(async () => (await db.count()) === ticks.length, 30_000, 'every tick stored');
    await waitFor(() => thread.rowsWritten === ticks.length, 5000, 'rows counted on the server side');
    expect(lines.some((l) => l.msg === 'persister thread ready')).toBe(true);
    expect(thread.lastWriteAt).toBeGreaterThan(Date.now() - 30_000);
    const rows = (await metrics.persistRows.get()).values[0]?.value;
    expect(rows).toBe(ticks.length);
    expect((await metrics.persistBatchSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBeGreaterThan(0);

    // Sent again after it stored them: nothing new.
    await store.write(ticks);
    await thread.close();
    expect(await db.count()).toBe(ticks.length);
  }, 60_000);

  test('a thread that cannot run is started again with backoff, and close() ends the retries', async () => {
    const { log, lines } = capturingLogger();
    // A key prefix with a brace is refused on a cluster (the main thread's config check keeps it
    // from getting here): the thread throws at start, every time.
    const bad = { ...options('bad{prefix}:', 'postgres://postgres@127.0.0.1:1/none'), redisTarget: { urls: [TEST_REDIS_URL], cluster: true } };
    const thread = new PersisterThread(bad, new Metrics({ defaultMetrics: false }), log);
    cleanups.push(() => thread.close());
    thread.start();
    await waitFor(() => lines.filter((l) => l.msg === 'persister thread stopped; starting it again').length >= 2, 30_000, 'two restarts');
    const delays = lines.filter((l) => l.msg === 'persister thread stopped; starting it again').map((l) => l.retryInMs as number);
    expect(delays[1]).toBeGreaterThan(0);
    const started = Date.now();
    await thread.close();
    expect(Date.now() - started).toBeLessThan(5000);
    const restarts = lines.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(lines.length, 'no restart after close').toBe(restarts);
  }, 60_000);
});
