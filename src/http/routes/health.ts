import type { FastifyInstance } from 'fastify';
import type { Database, DatabaseKind } from '../../db/database.js';
import type { Metrics } from '../../observability/metrics.js';
import type { RedisClient } from '../../redis/connection.js';
import type { RedisKind } from '../../redis/embedded-redis.js';
import type { TickStore } from '../../redis/tick-store.js';

export interface HealthDeps {
  redis: RedisClient;
  redisKind: RedisKind;
  database: Database;
  databaseKind: DatabaseKind;
  store: TickStore;
  metrics: Metrics;
}

export interface Health {
  status: 'ok' | 'degraded';
  redis: { status: 'up' | 'down'; kind: RedisKind };
  database: { status: 'up' | 'down'; kind: DatabaseKind };
  persistence: { pending: number | null; lagMs: number | null };
}

export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const redisUp = deps.redis.isReady;
  const [dbUp, backlog] = await Promise.all([
    deps.database.ping(),
    redisUp ? deps.store.persistBacklog().catch(() => null) : Promise.resolve(null),
  ]);
  return {
    status: redisUp && dbUp ? 'ok' : 'degraded',
    redis: { status: redisUp ? 'up' : 'down', kind: deps.redisKind },
    database: { status: dbUp ? 'up' : 'down', kind: deps.databaseKind },
    persistence: {
      pending: backlog?.pending ?? null,
      lagMs: backlog ? (backlog.oldestMs === null ? 0 : Math.max(0, Date.now() - backlog.oldestMs)) : null,
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
