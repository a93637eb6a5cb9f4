/**
 * Bytes per stored tick on disk, and what a day at the default load adds.
 *
 * Each variant gets a schema of its own, migrated as QuFLX does, and is filled the way the
 * persister fills it: 5 pairs at 1,000 ticks a minute each (Poisson arrivals, prices to 5
 * decimals), written with insertTicks in transactions of 5,000 ticks in arrival order. Then
 * VACUUM (as autovacuum would: it adds the free-space and visibility maps), and the total size of
 * everything that holds tick rows: every partition of `ticks` with its indexes and TOAST, plus
 * tick_pairs and tick_days. Rollups are reported apart: they are the candles kept for good.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SeqTick } from '../src/core/tick.js';
import { asEpochMs } from '../src/core/units.js';
import { migrate } from '../src/db/migrate.js';
import { insertTicks, toRow } from '../src/db/tick-repository.js';
import { benchLogger } from './setup.js';

/** The seed's default load: 5 pairs x 1,000 ticks a minute. */
export const DEFAULT_TICKS_PER_DAY = 5 * 1000 * 60 * 24;
const PAIRS = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc'];
const BATCH = 5000;

type IdKind = 'none' | 'integer' | 'text';

export interface StorageFigures {
  /** Half the ticks without a feed id, half with an integer id (the measure of issue 12). */
  storage_bytes_per_tick: number;
  storage_bytes_per_tick_no_id: number;
  storage_bytes_per_tick_integer_id: number;
  /** Ids like `T-1234567` (9 characters). */
  storage_bytes_per_tick_text_id: number;
  /** The mix at 7.2M ticks a day, MB (10^6 bytes). */
  storage_mb_per_day: number;
  /** Rollups a day adds at the default load: hourly ones (kept for good), kB, and 5 s + 1 min ones (kept with the ticks), MB. */
  rollup_kb_per_day_kept: number;
  rollup_mb_per_day_with_ticks: number;
  storage_ticks_measured: number;
}

/** `ticks` ticks per variant (default 200,000: 40 minutes of the default load). */
export async function measureStorage(databaseUrl: string, options: { ticks: number }): Promise<StorageFigures> {
  const mix = await measureVariant(databaseUrl, options.ticks, (i) => (i % 2 === 0 ? 'none' : 'integer'));
  const none = await measureVariant(databaseUrl, options.ticks, () => 'none');
  const integer = await measureVariant(databaseUrl, options.ticks, () => 'integer');
  const text = await measureVariant(databaseUrl, options.ticks, () => 'text');
  const day = (rows: number, bytesPerRow: number) => (rows * bytesPerRow) / 1e6;
  return {
    storage_bytes_per_tick: round(mix.bytesPerTick),
    storage_bytes_per_tick_no_id: round(none.bytesPerTick),
    storage_bytes_per_tick_integer_id: round(integer.bytesPerTick),
    storage_bytes_per_tick_text_id: round(text.bytesPerTick),
    storage_mb_per_day: round((DEFAULT_TICKS_PER_DAY * mix.bytesPerTick) / 1e6),
    rollup_kb_per_day_kept: round(1000 * day(PAIRS.length * 24, mix.rollupBytesPerRow)),
    rollup_mb_per_day_with_ticks: round(day(PAIRS.length * (17_280 + 1440), mix.rollupBytesPerRow)),
    storage_ticks_measured: options.ticks,
  };
}

interface Variant {
  bytesPerTick: number;
  rollupBytesPerRow: number;
}

async function measureVariant(baseUrl: string, n: number, kind: (i: number) => IdKind): Promise<Variant> {
  const schema = `bench_storage_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  try {
    await migrate(pool, benchLogger());
    const ticks = liveTicks(n, Date.UTC(2024, 10, 22, 6), kind);
    for (let i = 0; i < ticks.length; i += BATCH) await insertTicks(pool, ticks.slice(i, i + BATCH).map(toRow));
    await pool.query('VACUUM');
    const r = await pool.query<{ tick_bytes: string; rows: string; rollup_bytes: string; rollups: string }>(
      `SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'ticks'::regclass)
              + pg_total_relation_size('tick_pairs') + pg_total_relation_size('tick_days') AS tick_bytes,
              (SELECT count(*) FROM ticks) AS rows,
              pg_total_relation_size('tick_rollups') AS rollup_bytes,
              (SELECT count(*) FROM tick_rollups) AS rollups`,
    );
    const row = r.rows[0]!;
    if (Number(row.rows) !== n) throw new Error(`storage bench: ${row.rows} rows stored of ${n}`);
    return { bytesPerTick: Number(row.tick_bytes) / n, rollupBytesPerRow: Number(row.rollup_bytes) / Number(row.rollups) };
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

/** `n` ticks of the default load in arrival order: per pair 1,000 a minute with Poisson gaps, random-walk prices. */
function liveTicks(n: number, start: number, kind: (i: number) => IdKind): SeqTick[] {
  const next = PAIRS.map(() => start);
  const last = PAIRS.map(() => -1);
  const price: number[] = PAIRS.map((p) => (p.includes('JPY') ? 150 : 1.1));
  const out: SeqTick[] = [];
  for (let i = 0; i < n; i++) {
    // The pair whose next tick comes first.
    let p = 0;
    for (let j = 1; j < PAIRS.length; j++) if (next[j]! < next[p]!) p = j;
    // At most one tick per pair and millisecond: two with one price would be one tick.
    const timestamp = Math.max(Math.round(next[p]!), last[p]! + 1);
    last[p] = timestamp;
    next[p]! += -Math.log(1 - Math.random()) * 60;
    price[p] = price[p]! * (1 + (Math.random() - 0.5) * 2e-4);
    const digits = PAIRS[p]!.includes('JPY') ? 3 : 5;
    const k = kind(i);
    const id = k === 'integer' ? 1_000_000_000 + i : k === 'text' ? `T-${1_000_000 + i}` : undefined;
    out.push({ pair: PAIRS[p]!, price: Number(price[p]!.toFixed(digits)), timestamp: asEpochMs(timestamp), seq: i + 1, ...(id === undefined ? {} : { id }) });
  }
  return out;
}

const round = (x: number) => Math.round(x * 10) / 10;
