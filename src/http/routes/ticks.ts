import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { databaseCall } from '../../db/database-call.js';
import { validateTickBatch } from '../../core/tick-validation.js';
import type { Ingestor } from '../../ingest/ingestor.js';
import type { Metrics } from '../../observability/metrics.js';
import type { PairRegistry } from '../../redis/pair-registry.js';
import type { RedisLink } from '../../redis/redis-link.js';
import type { TickStore } from '../../redis/tick-store.js';
import { bearerGuard } from '../bearer.js';
import { ticksBefore } from '../../db/tick-history.js';
import { MAX_TICK_PAGE } from '../../shared/limits.js';
import { parseLimit, parseTime, requirePair } from '../query.js';

export interface TickRoutesDeps {
  ingestor: Ingestor;
  store: TickStore;
  /** The store's Redis link: reads answer 503 instead of hanging when it stalls. */
  redisLink: RedisLink;
  registry: PairRegistry;
  metrics: Metrics;
  ingestToken: string | undefined;
  tickBufferSize: number;
  /** For `before=` pages of stored ticks. */
  db: pg.Pool;
}

export function registerTickRoutes(app: FastifyInstance, deps: TickRoutesDeps): void {
  app.post(
    '/api/ticks',
    {
      // Checked before the body is read, so an unauthorised client cannot make us parse 1 MiB.
      onRequest: bearerGuard(deps.ingestToken, 'INGEST_TOKEN'),
    },
    async (request, reply) => {
      let ticks;
      try {
        ticks = validateTickBatch(request.body, Date.now());
      } catch (err) {
        const n = Array.isArray(request.body) ? request.body.length : 1;
        deps.metrics.ticksRejected.inc({ source: 'http' }, n);
        throw err;
      }
      const result = await deps.ingestor.submit(ticks, 'http');
      return reply.code(202).send({ accepted: result.accepted, duplicates: result.duplicates });
    },
  );

  app.get('/api/ticks', async (request) => {
    const q = request.query as Record<string, unknown>;
    const pair = requirePair(q.pair);
    const before = parseTime(q.before, 'before', 'epoch milliseconds');
    if (before !== undefined) {
      // Older history for the tick chart: stored ticks, read from the database.
      const limit = parseLimit(q.limit, Math.min(1000, MAX_TICK_PAGE), MAX_TICK_PAGE);
      // A database read makes no Redis keys: a name the registry does not know is read as given.
      const canonical = (await deps.redisLink.read(() => deps.registry.resolve(pair), 'pair name read')) ?? pair;
      return databaseCall(() => ticksBefore(deps.db, canonical, before, limit));
    }
    const limit = parseLimit(q.limit, Math.min(100, deps.tickBufferSize), deps.tickBufferSize);
    // Any spelling reads the one instrument; a pair nobody sent has no ticks (and nothing is made for it).
    return deps.redisLink.read(async () => {
      const canonical = await deps.registry.resolve(pair);
      return canonical === null ? [] : deps.store.recent(canonical, limit);
    }, 'recent ticks read');
  });

  app.get('/api/assets', async () => {
    const latest = await deps.redisLink.read(async () => deps.store.latest(await deps.registry.all()), 'assets read');
    return latest.map(({ pair, tick }) => ({ pair, price: tick.price, timestamp: tick.timestamp }));
  });
}
