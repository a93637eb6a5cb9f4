import { UnavailableError } from '../core/errors.js';
import { DeadlineError, withDeadline } from '../lib/deadline.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './connection.js';

/** How long QuFLX waits for Redis, per kind of operation, before it calls the link stalled. */
export const REDIS_DEADLINES_MS = {
  /** An ingest micro-batch: then HTTP callers get a 503 and feed ticks are retried (the script dedups). */
  ingest: 3000,
  /** A read for an HTTP request. */
  read: 3000,
  /** The /health probe. */
  probe: 1000,
} as const;

/** Redis did not answer in time; HTTP maps it to 503 with Retry-After like any UnavailableError. */
export class RedisStalledError extends UnavailableError {
  constructor(link: string, what: string, ms: number) {
    super(`Redis is not answering (${what} had no answer within ${ms} ms on link ${link}); retry shortly`, 2);
    this.name = 'RedisStalledError';
  }
}

/**
 * One node-redis connection seen from QuFLX: whether it is worth sending to, and deadlines for
 * the answers we wait on. node-redis runs with no per-command timeout on purpose (the ingest path
 * pipelines many commands, and a timeout counted from enqueue failed healthy work), so a Redis
 * that stalls without closing would hang its callers. Here each wait has its own deadline; a miss
 * marks the link stalled (logged once, naming the link) until it answers anything again or
 * reconnects. A command already sent is not taken back: it may still run when Redis wakes up.
 */
export class RedisLink {
  private stalledSince: number | null = null;

  constructor(
    readonly client: RedisClient,
    readonly name: string,
    private readonly log: Logger,
  ) {
    client.on('ready', () => this.answered());
  }

  /** Connected and not known to be stalled. */
  get usable(): boolean {
    return this.client.isReady && this.stalledSince === null;
  }

  get stalled(): boolean {
    return this.stalledSince !== null;
  }

  /** For request/response reads: refused at once while the link is known to be stalled, else `within`. */
  read<T>(op: () => Promise<T>, what: string, ms: number = REDIS_DEADLINES_MS.read): Promise<T> {
    if (this.stalledSince !== null) {
      const s = Math.round((Date.now() - this.stalledSince) / 1000);
      return Promise.reject(new RedisStalledError(this.name, `${what} (no answer for ${s} s)`, ms));
    }
    return this.within(op(), ms, what);
  }

  /** `op`'s answer, or a RedisStalledError after `ms`; any later answer clears the stall. */
  within<T>(op: Promise<T>, ms: number, what: string): Promise<T> {
    op.then(
      () => this.answered(),
      () => undefined,
    );
    return withDeadline(op, ms, what).catch((err: unknown) => {
      if (!(err instanceof DeadlineError)) throw err;
      this.stall(what, ms);
      throw new RedisStalledError(this.name, what, ms);
    });
  }

  private stall(what: string, ms: number): void {
    if (this.stalledSince !== null) return;
    this.stalledSince = Date.now() - ms;
    this.log.warn({ link: this.name, op: what, waitedMs: ms }, `redis link stalled: ${what} had no answer within ${ms} ms; the link is open but Redis does not answer`);
  }

  private answered(): void {
    if (this.stalledSince === null) return;
    const stalledForMs = Date.now() - this.stalledSince;
    this.stalledSince = null;
    this.log.info({ link: this.name, stalledForMs }, 'redis link answers again');
  }
}
