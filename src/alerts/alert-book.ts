import type pg from 'pg';
import { parseAlertRequest } from '../core/alert-request.js';
import { ValidationError } from '../core/errors.js';
import { databaseCall } from '../db/database-call.js';
import { deleteAlert, insertAlert, listAlerts } from '../db/alert-repository.js';
import type { RedisKeys } from '../redis/keys.js';
import type { PairRegistry } from '../redis/pair-registry.js';
import type { RedisLink } from '../redis/redis-link.js';
import type { Alert } from '../shared/http.js';
import type { AlertWatch } from './alert-watch.js';

export interface AlertBookDeps {
  pool: pg.Pool;
  /** The command link: pair names and the pair's seq are read through it. */
  redisLink: RedisLink;
  keys: RedisKeys;
  registry: PairRegistry;
  watch: AlertWatch;
  /** Resolves once the schema is in place (migrations run in the background at start). */
  schemaReady: Promise<unknown>;
  /** MAX_ALERTS: most alerts stored, fired ones included until deleted. */
  maxAlerts: number;
}

/** Making, listing and deleting price alerts (what the HTTP routes call); the watch fires them. */
export class AlertBook {
  constructor(private readonly deps: AlertBookDeps) {}

  /** Checks and stores an alert, and starts watching it in every process. */
  async create(body: unknown): Promise<Alert> {
    const spec = parseAlertRequest(body);
    const { redisLink, keys, registry, watch, maxAlerts } = this.deps;
    const at = Date.now();
    // Under the instrument's canonical name (a pair nobody sent yet keeps the name given), and its
    // seq now: ticks up to that seq were accepted before this alert and never fire it.
    const { pair, seq } = await redisLink.read(async () => {
      const canonical = (await registry.resolve(spec.pair)) ?? spec.pair;
      return { pair: canonical, seq: Number((await redisLink.client.get(keys.seq(canonical))) ?? 0) };
    }, 'alert pair read');
    const stored = await this.database(() => insertAlert(this.deps.pool, { ...spec, pair }, { at, seq }, maxAlerts));
    if (stored === null) {
      throw new ValidationError(`There are ${maxAlerts} alerts already, the most kept (MAX_ALERTS); delete some first`, [
        { index: 0, field: 'alerts', message: `at most ${maxAlerts} alerts may exist, fired ones included until deleted` },
      ]);
    }
    watch.watch(stored.watched);
    await watch.announce({ op: 'add', alert: stored.watched });
    return stored.alert;
  }

  list(): Promise<Alert[]> {
    return this.database(() => listAlerts(this.deps.pool));
  }

  /** Deletes an alert everywhere; false when there is none with that id. */
  async remove(id: number): Promise<boolean> {
    const deleted = await this.database(() => deleteAlert(this.deps.pool, id));
    if (deleted) {
      this.deps.watch.unwatch(id);
      await this.deps.watch.announce({ op: 'remove', id });
    }
    return deleted;
  }

  /** A database call once the schema is in place; an unreachable database is a 503 (retry shortly). */
  private database<T>(work: () => Promise<T>): Promise<T> {
    return databaseCall(work, this.deps.schemaReady);
  }
}
