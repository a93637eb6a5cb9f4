import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './connection.js';

/**
 * Accepted ticks live only in Redis until the persister stores them: warn when an external Redis
 * would forget them in a crash. Managed Redis often forbids CONFIG; then say what to check.
 */
export async function checkRedisDurability(redis: RedisClient, batchIntervalMs: number, log: Logger): Promise<void> {
  try {
    const reply = (await redis.configGet('appendonly')) as Record<string, string>;
    if (reply.appendonly !== 'yes') {
      log.warn(
        { appendonly: reply.appendonly ?? 'unknown' },
        `Redis runs without appendonly: if Redis crashes, accepted ticks not yet in the database (up to ${batchIntervalMs} ms of them, more during a database outage) are lost. Set "appendonly yes" and "appendfsync everysec".`,
      );
    }
  } catch {
    log.warn('could not read Redis appendonly setting (CONFIG GET refused); make sure AOF persistence is on, or a Redis crash can lose accepted ticks not yet stored');
  }
}
