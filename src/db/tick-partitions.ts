import type pg from 'pg';

/** Ticks are partitioned by UTC day of their own timestamp: one table per day, dropped whole by retention. */
export const DAY_MS = 86_400_000;

/** Days since 1970-01-01 (UTC) of an epoch-ms time. */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

/** `ticks_YYYYMMDD`, as quflx_tick_partition() in 002_compact_ticks.sql names it. */
export function partitionName(day: number): string {
  return `ticks_${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/**
 * Creates the day partitions that are missing (quflx_tick_partition takes a transaction-level
 * lock only when it creates one; that lock and the parent's SHARE UPDATE EXCLUSIVE lock last
 * until the caller's transaction ends).
 */
export async function ensureTickPartitions(client: pg.ClientBase | pg.Pool, days: Iterable<number>): Promise<void> {
  const list = [...new Set(days)].sort((a, b) => a - b);
  if (list.length === 0) return;
  await client.query('SELECT quflx_tick_partition(d) FROM unnest($1::int4[]) AS d', [list]);
}

export interface TickPartition {
  name: string;
  day: number;
}

/** The day partitions of ticks that exist, oldest first. */
export async function tickPartitions(db: pg.ClientBase | pg.Pool): Promise<TickPartition[]> {
  const r = await db.query<{ name: string; upper: string }>(
    `SELECT c.relname AS name, (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''?(-?\\d+)''?\\)'))[1] AS upper
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'ticks'::regclass`,
  );
  return r.rows.map((x) => ({ name: x.name, day: Number(x.upper) / DAY_MS - 1 })).sort((a, b) => a.day - b.day);
}
