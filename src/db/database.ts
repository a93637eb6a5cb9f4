import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import { libpqUrl } from './connection-url.js';

export type DatabaseKind = 'external' | 'embedded';

export interface DatabaseOptions {
  /**
   * A query with no answer in this long fails, and its connection is dropped (client side: no
   * server setting needed). Unset: no deadline (the CLI, whose imports may run for minutes).
   */
  queryTimeoutMs?: number;
}

/** A per-query `query_timeout` for work that may legitimately run long (migrations): the longest timer Node has. */
export const LONG_QUERY_TIMEOUT_MS = 2 ** 31 - 1;
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * pg's client with one change: a query that timed out (`query_timeout`) drops its connection.
 * pg only stops waiting; the query stays in flight on the link, so the next user of that pooled
 * client would queue behind it. Dropping the link ends the client (its 'error' is heard below),
 * and the pool replaces it. Streams (COPY, cursors) go at their reader's pace and keep no deadline.
 */
class DeadlineClient extends pg.Client {
  constructor(config: pg.ClientConfig & { onStall?: (ms: number) => void } = {}) {
    super(config);
    const self = this as unknown as { connection: { stream: { destroy(): void } }; connectionParameters: { query_timeout: number } };
    const dropOnTimeout = (err: Error | undefined, timeoutMs: number | undefined) => {
      if (err?.message !== QUERY_TIMEOUT_MESSAGE) return;
      config.onStall?.(timeoutMs ?? self.connectionParameters.query_timeout);
      self.connection.stream.destroy();
    };
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    (this as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0] as { submit?: unknown; query_timeout?: number } | string | null;
      const timeoutMs = typeof first === 'object' ? first?.query_timeout : undefined;
      if (first && typeof first === 'object' && typeof first.submit === 'function') {
        first.query_timeout ??= LONG_QUERY_TIMEOUT_MS;
        return query(...args);
      }
      const last = args.at(-1);
      if (typeof last === 'function') {
        // Callback style (pool.query uses it).
        args[args.length - 1] = (err: Error | undefined, res: unknown) => {
          dropOnTimeout(err, timeoutMs);
          (last as (e: Error | undefined, r: unknown) => void)(err, res);
        };
        return query(...args);
      }
      const result = query(...args);
      if (result instanceof Promise) result.catch((err: Error) => dropOnTimeout(err, timeoutMs));
      return result;
    };
  }
}

/**
 * The PostgreSQL connection pool and its health. Supabase is reached the same way, by its
 * connection string. A dropped or stalled link never ends the process: every client the pool
 * makes has an 'error' listener from birth (also while checked out, where pg has none), queries
 * and connects have client-side deadlines, and TCP keepalive finds dead links.
 */
export class Database {
  readonly pool: pg.Pool;
  private closed = false;

  constructor(
    url: string,
    readonly kind: DatabaseKind,
    log: Logger,
    options: DatabaseOptions = {},
  ) {
    const lost = new ThrottledLog(log, 5000);
    const stalled = new ThrottledLog(log, 5000);
    this.pool = new pg.Pool({
      // sslmode as libpq reads it (require: encrypted, certificate not checked).
      connectionString: libpqUrl(url),
      max: 5,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      // Client side only: PgBouncer in transaction mode refuses unknown startup parameters
      // (statement_timeout and the like), so no server setting is sent.
      query_timeout: options.queryTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      Client: DeadlineClient,
      onStall: (ms: number) =>
        stalled.warn({ link: 'postgres', timeoutMs: ms }, `database link stalled: a query had no answer in ${ms} ms; its connection is dropped`),
    } as pg.PoolConfig);
    this.pool.on('connect', (client) => {
      // The query in progress fails on its own; the pool drops the client when it is released.
      client.on('error', (err) => lost.warn({ link: 'postgres', err: err.message }, 'database connection lost; a new one is made on the next query'));
    });
    // The pool re-emits errors of idle clients: heard (and logged) by the client's own listener above.
    this.pool.on('error', () => undefined);
  }

  /** True when a trivial query answers within `timeoutMs`. Never waits longer. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      await Promise.race([this.pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
