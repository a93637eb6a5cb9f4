import type { FastifyInstance } from 'fastify';
import type { Database, DatabaseKind } from '../../db/database.js';
import type { FeedReport, FeedWatch } from '../../feeds/feed-watch.js';
import type { Metrics } from '../../observability/metrics.js';
import type { RedisKind } from '../../redis/embedded-redis.js';
import type { RedisKeys } from '../../redis/keys.js';
import { readPersistBacklog } from '../../redis/persist-queue.js';
import { REDIS_DEADLINES_MS, type RedisLink } from '../../redis/redis-link.js';
import type { HealthResponse } from '../../shared/http.js';

export interface HealthDeps {
  redis: RedisLink;
  redisKind: RedisKind;
  database: Database;
  databaseKind: DatabaseKind;
  keys: RedisKeys;
  metrics: Metrics;
  /** Epoch ms of the persister's last successful write, null before the first. */
  lastWriteAt: () => number | null;
  /** The feed and the health of every pair's ticks; absent in a process without ingest. */
  feed?: FeedWatch;
}

/** The answer of GET /health (the contract's, shared with the browser). */
export type Health = HealthResponse;

/**
 * Never hangs: each probe has a deadline (database 1 s, Redis 1 s), so a stalled link reads as
 * down instead of holding the answer. Redis is up when the backlog read answered in time.
 */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const [dbUp, backlog] = await Promise.all([
    deps.database.ping(REDIS_DEADLINES_MS.probe),
    deps.redis.client.isReady
      ? deps.redis.within(readPersistBacklog(deps.redis.client, deps.keys), REDIS_DEADLINES_MS.probe, 'health probe').catch(() => null)
      : Promise.resolve(null),
  ]);
  const redisUp = backlog !== null;
  const feed = deps.feed?.report();
  return {
    // A feed that should be connected (Chrome, a ws:// feed) and is not counts as a part down.
    status: redisUp && dbUp && feed?.status !== 'down' ? 'ok' : 'degraded',
    redis: { status: redisUp ? 'up' : 'down', kind: deps.redisKind },
    database: { status: dbUp ? 'up' : 'down', kind: deps.databaseKind },
    persistence: {
      pending: backlog?.pending ?? null,
      lagMs: backlog ? (backlog.oldestMs === null ? 0 : Math.max(0, Date.now() - backlog.oldestMs)) : null,
      lastWriteAt: toIso(deps.lastWriteAt()),
    },
    ...(feed ? { feed } : {}),
  };
}

export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  // 200 whenever the process serves; `status` says whether every part is up.
  app.get('/health', async () => checkHealth(deps));
  app.get('/metrics', async (_request, reply) => {
    reply.header('Content-Type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}

function toIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
