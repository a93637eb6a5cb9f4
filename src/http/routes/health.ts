import type { FastifyInstance } from 'fastify';
import type { Database, DatabaseKind } from '../../db/database.js';
import type { FeedReport, FeedWatch } from '../../feeds/feed-watch.js';
import type { Metrics } from '../../observability/metrics.js';
import type { RedisKind } from '../../redis/embedded-redis.js';
import type { RedisKeys } from '../../redis/keys.js';
import { readPersistBacklog, type PersistBacklog } from '../../redis/persist-queue.js';
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
  /** In a worker of WORKERS=N: the metrics and feed report of every worker, so any worker answers for all. */
  cluster?: ClusterView;
}

/** The whole cluster seen from one worker (answered through the primary). */
export interface ClusterView {
  /** Prometheus text with the series of every worker (labelled `worker`) and the primary. */
  metrics(): Promise<string>;
  /** Every worker's feed report merged (see mergeFeedReports); null when none could be had. */
  feed(): Promise<FeedReport | null>;
}

/** The answer of GET /health (the contract's, shared with the browser). */
export type Health = HealthResponse;

/**
 * Never hangs: each probe has a deadline (database 1 s, Redis 1 s), so a stalled link reads as
 * down instead of holding the answer. Redis is up when the backlog read answered in time.
 */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const [dbUp, backlog, feed] = await Promise.all([probeDatabase(deps), probeRedis(deps), feedReport(deps)]);
  const redisUp = backlog !== null;
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

/** The persist backlog, read within the probe deadline: null when Redis did not answer (it is down). */
function probeRedis(deps: HealthDeps): Promise<PersistBacklog | null> {
  if (!deps.redis.client.isReady) return Promise.resolve(null);
  return deps.redis.within(readPersistBacklog(deps.redis.client, deps.keys), REDIS_DEADLINES_MS.probe, 'health probe').catch(() => null);
}

function probeDatabase(deps: HealthDeps): Promise<boolean> {
  return deps.database.ping(REDIS_DEADLINES_MS.probe);
}

/** This process's feed report, or with workers every worker's merged (this one's alone if the others do not answer). */
async function feedReport(deps: HealthDeps): Promise<FeedReport | undefined> {
  const own = deps.feed?.report();
  if (!deps.cluster) return own;
  return (await deps.cluster.feed().catch(() => null)) ?? own;
}

export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  // The same probes as /health, at scrape time, for quflx_redis_up and quflx_database_up.
  deps.metrics.linkProbes = {
    redis: async () => (await probeRedis(deps)) !== null,
    database: () => probeDatabase(deps),
  };
  // 200 whenever the process serves; `status` says whether every part is up.
  app.get('/health', async () => checkHealth(deps));
  app.get('/metrics', async (_request, reply) => {
    reply.header('Content-Type', deps.metrics.registry.contentType);
    if (deps.cluster) {
      // Every worker's series, whichever worker was asked; this one's alone if the primary cannot answer.
      const all = await deps.cluster.metrics().catch(() => null);
      if (all !== null) return all;
    }
    return deps.metrics.registry.metrics();
  });
}

function toIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
