import type { FastifyInstance } from 'fastify';
import type { Database, DatabaseKind } from '../../db/database.js';
import type { Metrics } from '../../observability/metrics.js';
import type { RedisClient } from '../../redis/connection.js';
import type { RedisKind } from '../../redis/embedded-redis.js';
import type { RedisKeys } from '../../redis/keys.js';
import { readPersistBacklog } from '../../redis/persist-queue.js';
import type { HealthResponse } from '../../shared/http.js';

export interface HealthDeps {
  redis: RedisClient;
  redisKind: RedisKind;
  database: Database;
  databaseKind: DatabaseKind;
  keys: RedisKeys;
  metrics: Metrics;
  /** Epoch ms of the persister's last successful write, null before the first. */
  lastWriteAt: () => number | null;
}

/** The answer of GET /health (the contract's, shared with the browser). */
export type Health = HealthResponse;

export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const redisUp = deps.redis.isReady;
  const [dbUp, backlog] = await Promise.all([
    deps.database.ping(),
    redisUp ? readPersistBacklog(deps.redis, deps.keys).catch(() => null) : Promise.resolve(null),
  ]);
  return {
    status: redisUp && dbUp ? 'ok' : 'degraded',
    redis: { status: redisUp ? 'up' : 'down', kind: deps.redisKind },
    database: { status: dbUp ? 'up' : 'down', kind: deps.databaseKind },
    persistence: {
      pending: backlog?.pending ?? null,
      lagMs: backlog ? (backlog.oldestMs === null ? 0 : Math.max(0, Date.now() - backlog.oldestMs)) : null,
      lastWriteAt: toIso(deps.lastWriteAt()),
    },
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
