import { createClient } from 'redis';
import { afterAll, beforeAll } from 'vitest';
import { TEST_REDIS_URL } from './test-app.js';

/**
 * A client of the test Redis for a whole test file: connected before its tests, closed after.
 * Call it at a file's top level, where the hooks are registered.
 */
export function redisForFile() {
  const redis = createClient({ url: TEST_REDIS_URL, RESP: 2 });
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    await redis.close();
  });
  return redis;
}
