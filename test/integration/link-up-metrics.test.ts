import { expect, test } from 'vitest';
import { RedisProcess } from '../helpers/redis-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestSchema, withSearchPath } from '../helpers/test-db.js';
import { startTestApp, TEST_DATABASE_URL, waitFor } from '../helpers/test-app.js';
import { sample } from '../helpers/prometheus-text.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

/** quflx_redis_up and quflx_database_up: the /health probes, run at scrape time, for alert rules. */

const cleanups = cleanupsAfterEach();

test('the up gauges follow Redis and the database going away and coming back', async () => {
  const redis = await RedisProcess.start('everysec');
  cleanups.push(() => redis.stop());
  const base = new URL(TEST_DATABASE_URL);
  const proxy = new TcpProxy(base.hostname, Number(base.port || 5432));
  await proxy.start();
  cleanups.push(() => proxy.close());
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  const viaProxy = new URL(TEST_DATABASE_URL);
  viaProxy.port = String(proxy.port);
  const t = await startTestApp({ REDIS_URL: redis.url, DATABASE_URL: withSearchPath(viaProxy.toString(), db.schema) }, { db });
  cleanups.push(() => t.close());
  const up = async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    return { redis: sample(text, 'quflx_redis_up', {}), database: sample(text, 'quflx_database_up', {}) };
  };

  expect(await up()).toEqual({ redis: 1, database: 1 });
  await proxy.cut();
  await waitFor(async () => (await up()).database === 0, 15_000, 'database down');
  expect((await up()).redis).toBe(1);
  await proxy.restore();
  await waitFor(async () => (await up()).database === 1, 15_000, 'database back');

  await redis.kill();
  await waitFor(async () => (await up()).redis === 0, 15_000, 'redis down');
  expect((await up()).database).toBe(1);
  await redis.startServer();
  await waitFor(async () => (await up()).redis === 1, 20_000, 'redis back');
});
