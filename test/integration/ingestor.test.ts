import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { Ingestor, type IngestResult } from '../../src/ingest/ingestor.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { PairRegistry } from '../../src/redis/pair-registry.js';
import { TickStore } from '../../src/redis/tick-store.js';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const log = createLogger('silent');
let redis: RedisClient;
const cleanups = cleanupsAfterEach();
beforeAll(async () => {
  redis = await connectRedis(TEST_REDIS_URL, 'ingestor-test', log);
});
afterAll(async () => redis.close());

/** An Ingestor on a TickStore of its own prefix, counting the store's calls (each one Redis round trip). */
async function setup(options: { lingerMs: number; maxBatch?: number }) {
  const prefix = uniquePrefix();
  cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
  const keys = new RedisKeys(prefix);
  const store = new TickStore(redis, keys, { tickBufferSize: 1000, candleCacheSize: 200 });
  await store.init();
  const calls: number[] = [];
  const write = store.write.bind(store);
  store.write = (ticks) => {
    calls.push(ticks.length);
    return write(ticks);
  };
  const registry = new PairRegistry(redis, keys, { maxPairs: 1000 });
  const ingestor = new Ingestor(store, new Metrics({ defaultMetrics: false }), log, { isAvailable: () => true, registry, ...options });
  cleanups.push(() => ingestor.close());
  /** The pair's stored ticks' prices, oldest first. */
  const stored = async () => (await store.recent(PAIR, 1000)).map((t) => [t.seq, t.price]);
  return { ingestor, calls, stored };
}

const PAIR = 'LINGER/ONE';
let ms = Date.UTC(2024, 10, 22, 18, 0, 0);
let price = 1;
const tick = (): Tick => ({ pair: PAIR, price: ++price, timestamp: asEpochMs(++ms) });
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

describe('Ingestor micro-batching', () => {
  test('a feed tick after a quiet spell goes alone; feed ticks coming one by one share the next call', async () => {
    const { ingestor, calls, stored } = await setup({ lingerMs: 3000 });
    const sent: Tick[] = [];
    for (let i = 0; i < 10; i++) {
      if (i > 0) await sleep(5); // one message at a time, as a feed sends them
      sent.push(tick());
      ingestor.offer([sent.at(-1)!], 'ws');
    }
    expect(await ingestor.drain(20_000)).toBe(true);
    expect(calls).toEqual([1, 9]);
    expect(await stored()).toEqual(sent.map((t, i) => [i + 1, t.price]));
  });

  test('a caller waiting for its answer, a full batch and close() are never held back', async () => {
    const { ingestor, calls } = await setup({ lingerMs: 600_000, maxBatch: 5 });
    // (Each step below would wait ten minutes if it were held back.)
    ingestor.offer([tick()], 'ws');
    expect(await ingestor.drain(30_000)).toBe(true); // after a quiet spell
    expect((await ingestor.submit([tick()], 'http')).seqs).toEqual([2]);
    ingestor.offer([tick(), tick(), tick(), tick(), tick()], 'ws'); // a full batch
    expect(await ingestor.drain(30_000)).toBe(true);
    ingestor.offer([tick()], 'ws'); // this one waits ...
    expect(await ingestor.drain(300)).toBe(false);
    expect(ingestor.backlog).toBe(1);
    await ingestor.close(); // ... until close
    expect(ingestor.backlog).toBe(0);
    expect(calls).toEqual([1, 1, 5, 1]);
  });
});
