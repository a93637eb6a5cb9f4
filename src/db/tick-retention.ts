import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { DAY_MS, tickPartitions } from './tick-partitions.js';

export interface RetentionOptions {
  /** TICK_RETENTION_DAYS; null keeps ticks for good. */
  days: number | null;
  /** Between runs (default one hour). */
  intervalMs?: number;
  /** After a run that could not take its locks (default one minute). */
  retryMs?: number;
}

export interface RetentionRun {
  /** UTC days (since 1970-01-01) whose partitions were dropped. */
  droppedDays: number[];
  /** Fine (5 s, 1 min) rollup rows deleted with them. */
  rollupsDeleted: number;
  /** expired_ticks rows forgotten (arrived longer ago than the retention). */
  expiredForgotten: number;
}

/** Rollup sizes that go with the ticks; hourly rollups (1H, 4H, 1D candles) stay for good. */
const FINE_ROLLUPS = [5, 60];
/** Rows per DELETE of fine rollups: a first run on a large database stays in small transactions. */
const DELETE_CHUNK = 50_000;
/**
 * How long a run waits for a lock before it tries again later: dropping a partition waits for
 * the readers of ticks (an export), and everyone queues behind it meanwhile.
 */
const LOCK_TIMEOUT = '3s';

/**
 * Keeps the tick partitions: creates today's and tomorrow's ahead of the writers, and with a
 * retention drops every day partition whose last millisecond is older than TICK_RETENTION_DAYS
 * (ticks are kept between N and N+1 days), with the 5 s and 1 min rollups of those days. Runs at
 * start and every hour; several processes may run it at once (the partition lock orders them).
 * Everything is a short transaction with SET LOCAL: it works through a pooler in transaction mode.
 */
export class TickRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly options: RetentionOptions,
  ) {}

  /** Writes the retention where every writer reads it (quflx_settings), before any tick is written. */
  async publishSetting(): Promise<void> {
    await this.pool.query('UPDATE quflx_settings SET tick_retention_days = $1', [this.options.days]);
  }

  /** First run now, then every interval; a failed run is retried sooner. */
  start(): void {
    if (this.closed || this.timer || this.running) return;
    const loop = async () => {
      let next = this.options.intervalMs ?? 3_600_000;
      try {
        await this.runOnce();
      } catch (err) {
        next = Math.min(next, this.options.retryMs ?? 60_000);
        this.log.warn({ err: (err as Error).message, retryInMs: next }, 'tick retention: run failed; retrying');
      }
      if (!this.closed) this.timer = setTimeout(() => void loop(), next).unref();
    };
    void loop();
  }

  /** One run (also what start() repeats). Concurrent calls share the run in progress. */
  runOnce(): Promise<RetentionRun> {
    const run = (this.running as Promise<RetentionRun> | null) ?? this.run().finally(() => (this.running = null));
    this.running = run;
    return run;
  }

  private async run(): Promise<RetentionRun> {
    await this.publishSetting();
    await this.inTransaction(async (c) => {
      await c.query(`SELECT quflx_tick_partition(d) FROM unnest(ARRAY[$1::int, $1::int + 1]) AS d`, [
        Math.floor((await this.nowMs(c)) / DAY_MS),
      ]);
    });
    const result: RetentionRun = { droppedDays: [], rollupsDeleted: 0, expiredForgotten: 0 };
    const days = this.options.days;
    if (days === null) return result;

    const cutoff = (await this.nowMs(this.pool)) - days * DAY_MS;
    const cutoffDay = Math.floor(cutoff / DAY_MS);
    const old = (await tickPartitions(this.pool)).filter((p) => (p.day + 1) * DAY_MS <= cutoff);
    if (old.length > 0) {
      await this.inTransaction(async (c) => {
        // The lock quflx_tick_partition() takes to create: drops and creations do not interleave.
        await c.query(`SELECT pg_advisory_xact_lock('ticks'::regclass::oid::int, -1)`);
        for (const p of old) await c.query(`DROP TABLE IF EXISTS ${p.name}`);
        // In the same transaction: tick_days never lists a day whose rows are gone, nor misses one that has rows.
        await c.query('DELETE FROM tick_days WHERE day = ANY($1::int4[])', [old.map((p) => p.day)]);
      });
      result.droppedDays = old.map((p) => p.day);
      this.log.info({ days: old.map((p) => p.name), retentionDays: days }, 'tick retention: dropped day partitions');
    }
    const forgotten = await this.pool.query(`DELETE FROM expired_ticks WHERE arrived_at < now() - make_interval(days => $1)`, [days]);
    result.expiredForgotten = forgotten.rowCount ?? 0;
    result.rollupsDeleted = await this.deleteFineRollups(cutoffDay * 86_400);
    if (result.rollupsDeleted > 0) this.log.info({ rows: result.rollupsDeleted }, 'tick retention: deleted 5 s and 1 min rollups of dropped days');
    return result;
  }

  /** 5 s and 1 min rollups of buckets before `beforeS` (epoch s), in chunks. */
  private async deleteFineRollups(beforeS: number): Promise<number> {
    let deleted = 0;
    const pairs = (await this.pool.query<{ pair: string }>('SELECT pair FROM tick_pairs')).rows.map((r) => r.pair);
    for (const pair of pairs) {
      for (const size of FINE_ROLLUPS) {
        for (;;) {
          const r = await this.pool.query(
            `DELETE FROM tick_rollups WHERE ctid = ANY(ARRAY(
               SELECT ctid FROM tick_rollups WHERE pair = $1 AND size = $2 AND bucket < $3 LIMIT ${DELETE_CHUNK}))`,
            [pair, size, beforeS],
          );
          deleted += r.rowCount ?? 0;
          if ((r.rowCount ?? 0) < DELETE_CHUNK || this.closed) break;
        }
      }
    }
    return deleted;
  }

  private async nowMs(db: pg.Pool | pg.ClientBase): Promise<number> {
    return Number((await db.query<{ ms: string }>('SELECT (extract(epoch FROM now()) * 1000)::int8 AS ms')).rows[0]!.ms);
  }

  private async inTransaction(work: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      await work(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Stops the schedule and waits for a run in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
