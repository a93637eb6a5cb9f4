/**
 * A persister in a process of its own, for tests that SIGKILL it at chosen moments.
 * Env: REDIS_URL, DATABASE_URL, KEY_PREFIX, CONSUMER, BATCH_INTERVAL_MS, CLAIM_IDLE_MS,
 * HANG = before-commit | after-commit | none (where to stop and wait to be killed).
 * Prints READY once running and HANG:<phase> when it stops at the chosen moment.
 */
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Persister } from '../../src/persist/persister.js';
import { connectRedis } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';

const env = process.env;
const log = createLogger('silent');
const hang = env.HANG ?? 'none';
const forever = (phase: string) => () => {
  process.stdout.write(`HANG:${phase}\n`);
  return new Promise<void>(() => undefined);
};
const pool = new pg.Pool({ connectionString: env.DATABASE_URL });
await migrate(pool, log);
const redis = await connectRedis(env.REDIS_URL!, 'persister-child', log);
const persister = new Persister(redis, pool, new RedisKeys(env.KEY_PREFIX), new Metrics({ defaultMetrics: false }), log, {
  consumer: env.CONSUMER!,
  batchIntervalMs: Number(env.BATCH_INTERVAL_MS ?? 200),
  claimIdleMs: Number(env.CLAIM_IDLE_MS ?? 60_000),
  hooks: {
    beforeCommit: hang === 'before-commit' ? forever('before-commit') : undefined,
    afterCommit: hang === 'after-commit' ? forever('after-commit') : undefined,
  },
});
persister.start();
process.stdout.write('READY\n');
