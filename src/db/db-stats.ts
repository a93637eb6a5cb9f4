import type pg from 'pg';
import { DAY_MS } from './tick-partitions.js';

/** What `quflx db stats` reports: the stored ticks, what they cost, and how long until a size limit. */
export interface DbStats {
  ticks: number;
  /** Heap, indexes and TOAST of every day partition of ticks, plus tick_pairs and tick_days. */
  tickBytes: number;
  bytesPerTick: number | null;
  partitions: number;
  /** Oldest and newest stored tick, epoch ms. */
  oldest: number | null;
  newest: number | null;
  /** Stored ticks per UTC day, the latest last (up to 8 days). */
  days: { day: string; ticks: number }[];
  /** The current rate (see ticksPerDayFrom). */
  ticksPerDay: number | null;
  rollupBytes: number;
  /** The whole database (what a hosted plan's size limit counts). */
  databaseBytes: number;
  retentionDays: number | null;
}

export interface SizeOutlook {
  /** Bytes a day adds at the current rate (ticks only: rollups add a few percent). */
  growthPerDay: number | null;
  /** Where the database levels off with the retention (null without one, or without a rate). */
  levelsOffAt: number | null;
  /** Days until `limit` at the current rate; Infinity when it levels off below; 0 when over already. */
  daysUntilLimit: number | null;
}

/**
 * The current rate in ticks a day: the ticks of the 7 UTC days before today (or since the first
 * of them, if that is later) over that time; with ticks from today only, those so far over the
 * time since the first of them (at least a minute). Null without ticks in that window.
 */
export function ticksPerDayFrom(days: { day: number; ticks: number; first: number }[], nowMs: number): number | null {
  const today = Math.floor(nowMs / DAY_MS);
  const rate = (list: typeof days, end: number) => {
    if (list.length === 0) return null;
    const since = Math.min(...list.map((d) => d.first));
    return (list.reduce((n, d) => n + d.ticks, 0) * DAY_MS) / Math.max(end - since, 60_000);
  };
  return (
    rate(
      days.filter((d) => d.day < today && d.day >= today - 7),
      today * DAY_MS,
    ) ?? rate(
      days.filter((d) => d.day === today),
      nowMs,
    )
  );
}

/**
 * How the database grows: ticks x bytes per tick a day. With a retention of N days it holds at
 * most N + 1 days of ticks (whole days are dropped), so it levels off at what it holds besides
 * the ticks plus N + 1 days of them.
 */
export function sizeOutlook(stats: DbStats, limitBytes: number | null): SizeOutlook {
  const growthPerDay = stats.ticksPerDay !== null && stats.bytesPerTick !== null ? stats.ticksPerDay * stats.bytesPerTick : null;
  const levelsOffAt =
    growthPerDay !== null && stats.retentionDays !== null ? stats.databaseBytes - stats.tickBytes + (stats.retentionDays + 1) * growthPerDay : null;
  let daysUntilLimit: number | null = null;
  if (limitBytes !== null && growthPerDay !== null) {
    if (stats.databaseBytes >= limitBytes) daysUntilLimit = 0;
    else if (levelsOffAt !== null && levelsOffAt <= limitBytes) daysUntilLimit = Infinity;
    else daysUntilLimit = growthPerDay > 0 ? (limitBytes - stats.databaseBytes) / growthPerDay : Infinity;
  }
  return { growthPerDay, levelsOffAt, daysUntilLimit };
}

/** Reads the figures: catalog sizes and tick_days, never a scan of the ticks. */
export async function readDbStats(db: pg.Pool | pg.ClientBase): Promise<DbStats> {
  const sizes = (
    await db.query<{ tick_bytes: string; partitions: number; rollup_bytes: string; database_bytes: string; now_ms: string; retention: number | null }>(
      `SELECT coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'ticks'::regclass), 0)
                + pg_total_relation_size('tick_pairs') + pg_total_relation_size('tick_days') AS tick_bytes,
              (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'ticks'::regclass) AS partitions,
              pg_total_relation_size('tick_rollups') AS rollup_bytes,
              pg_database_size(current_database()) AS database_bytes,
              (extract(epoch FROM now()) * 1000)::int8 AS now_ms,
              (SELECT tick_retention_days FROM quflx_settings) AS retention`,
    )
  ).rows[0]!;
  const days = (
    await db.query<{ day: number; ticks: string; first: string; last: string }>(
      'SELECT day, sum(ticks) AS ticks, min(first_at) AS first, max(last_at) AS last FROM tick_days GROUP BY day ORDER BY day',
    )
  ).rows.map((r) => ({ day: r.day, ticks: Number(r.ticks), first: Number(r.first), last: Number(r.last) }));
  const ticks = days.reduce((n, d) => n + d.ticks, 0);
  const tickBytes = Number(sizes.tick_bytes);
  return {
    ticks,
    tickBytes,
    bytesPerTick: ticks > 0 ? tickBytes / ticks : null,
    partitions: sizes.partitions,
    oldest: days.length > 0 ? Math.min(...days.map((d) => d.first)) : null,
    newest: days.length > 0 ? Math.max(...days.map((d) => d.last)) : null,
    days: days.slice(-8).map((d) => ({ day: new Date(d.day * DAY_MS).toISOString().slice(0, 10), ticks: d.ticks })),
    ticksPerDay: ticksPerDayFrom(days, Number(sizes.now_ms)),
    rollupBytes: Number(sizes.rollup_bytes),
    databaseBytes: Number(sizes.database_bytes),
    retentionDays: sizes.retention,
  };
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `500MB`, `8 GB`, `1.5GiB`, `500000000` (bytes) -> bytes; null when it is none of those. MB is 10^6 bytes, MiB 2^20. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[(m[2] || 'b').toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Number(m[1]) * unit;
  return bytes > 0 && Number.isFinite(bytes) ? bytes : null;
}

/** 1234567 -> `1.2 MB` (decimal units, as hosted plans state their limits). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} bytes` : `${v.toFixed(1)} ${units[i]}`;
}
