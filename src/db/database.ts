import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { libpqUrl } from './connection-url.js';

export type DatabaseKind = 'external' | 'embedded';

/** The PostgreSQL connection pool and its health. Supabase is reached the same way, by its connection string. */
export class Database {
  readonly pool: pg.Pool;
  private closed = false;

  constructor(
    url: string,
    readonly kind: DatabaseKind,
    log: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: libpqUrl(url), max: 5, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
    // An idle client losing its link must not crash the process; the next query reconnects.
    this.pool.on('error', (err) => log.warn({ err: err.message }, 'database connection error'));
  }

  /** True when a trivial query answers within `timeoutMs`. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      await Promise.race([this.pool.query('SELECT 1'), timeout]);
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
