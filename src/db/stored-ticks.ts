import type pg from 'pg';
import { compareCanonicalIntegers } from './feed-id.js';
import { dayOf, partitionName } from './tick-partitions.js';

/**
 * Which ticks are stored already, by their identity: (pair, timestamp, price) for a tick without a
 * feed id, (pair, id) for one with. This lookup is what keeps a tick from being stored twice
 * (see 002_compact_ticks.sql): insertTicks runs it under the pairs' advisory locks, a cache fill
 * in its snapshot.
 *
 * It reads ranges, not single keys: per pair and day, the span of the probed times (split where
 * they are over a second apart) and of the probed integer ids, and returns the stored rows in
 * them, which are then compared in full here. A live batch starts after the last stored tick, so
 * its ranges are usually empty. Ids are looked up only in the days whose id range (tick_days)
 * covers them; a text id by its hash, then compared in full.
 */
export interface IdentityProbe {
  pairId: number;
  timestamp: number;
  price: number;
  /** Feed id stored as BIGINT (canonical decimal text), or null. */
  num: string | null;
  /** Feed id stored as TEXT, or null. */
  text: string | null;
}

/** Probed times further apart than this start a new range. */
const TIME_GAP_MS = 1000;
/** Probed integer ids further apart than this start a new range. */
const ID_GAP = 1000n;

interface DayRow {
  pair_id: number;
  day: number;
  num_lo: string | null;
  num_hi: string | null;
  text_lo: string | null;
  text_hi: string | null;
}

const CANDIDATE_DAYS = `
  SELECT d.pair_id, d.day, d.num_lo, d.num_hi, d.text_lo, d.text_hi
  FROM unnest($1::int4[], $2::int8[], $3::int8[], $4::text[], $5::text[]) AS b(pair_id, nlo, nhi, tlo, thi)
  JOIN tick_days d ON d.pair_id = b.pair_id
  WHERE d.day = ANY($6::int4[])
     OR (d.num_lo <= b.nhi AND d.num_hi >= b.nlo)
     OR (d.text_lo <= b.thi COLLATE "C" AND d.text_hi >= b.tlo COLLATE "C")`;

/** A candidate (pair, day) for ticks without an id: its partition exists, its id ranges do not matter. */
const dayRow = (key: string): DayRow => {
  const [pairId, day] = key.split('|').map(Number) as [number, number];
  return { pair_id: pairId, day, num_lo: null, num_hi: null, text_lo: null, text_hi: null };
};
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const timeKey = (pairId: number, ts: number, price: number) => `${pairId}|t${ts}|${price}`;
const numKey = (pairId: number, num: string) => `${pairId}|n${num}`;
const textKey = (pairId: number, text: string) => `${pairId}|s${text}`;
const keyOf = (p: IdentityProbe) =>
  p.num !== null ? numKey(p.pairId, p.num) : p.text !== null ? textKey(p.pairId, p.text) : timeKey(p.pairId, p.timestamp, p.price);

/** Splits sorted values into [lo, hi] runs whose neighbours are at most `gap` apart. */
function runs<T extends number | bigint>(sorted: T[], gap: T): [T, T][] {
  const out: [T, T][] = [];
  for (const v of sorted) {
    const last = out.at(-1);
    if (last && v - last[1] <= gap) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

/** Per pair, the lowest and highest of some values (as given, or null when none). */
function bounds<T>(values: Map<number, T[]>, pairId: number, cmp: (a: T, b: T) => number): [T | null, T | null] {
  const list = values.get(pairId);
  if (!list || list.length === 0) return [null, null];
  let lo: T = list[0] as T;
  let hi: T = lo;
  for (const v of list) {
    if (cmp(v, lo) < 0) lo = v;
    if (cmp(v, hi) > 0) hi = v;
  }
  return [lo, hi];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Indices (into `probes`) of the ticks whose identity is stored in `ticks`. `partitioned`: days
 * whose partitions exist for sure; when every probe is a tick without an id in one of them, the
 * look at tick_days is skipped.
 */
export async function findStored(
  client: pg.Pool | pg.ClientBase,
  probes: readonly IdentityProbe[],
  partitioned: ReadonlySet<number> = new Set(),
): Promise<Set<number>> {
  if (probes.length === 0) return new Set();
  const byTimeOnly = probes.every((p) => p.num === null && p.text === null && partitioned.has(dayOf(p.timestamp)));
  const nums = new Map<number, string[]>();
  const texts = new Map<number, string[]>();
  const days = new Set<number>();
  for (const p of probes) {
    if (p.num !== null) push(nums, p.pairId, p.num);
    else if (p.text !== null) push(texts, p.pairId, p.text);
    else days.add(dayOf(p.timestamp));
  }
  const pairs = [...new Set(probes.map((p) => p.pairId))];
  const numBounds = pairs.map((id) => bounds(nums, id, compareCanonicalIntegers));
  const textBounds = pairs.map((id) => bounds(texts, id, byteOrder));
  const candidates = byTimeOnly
    ? { rows: [...new Set(probes.map((p) => `${p.pairId}|${dayOf(p.timestamp)}`))].map((k) => dayRow(k)) }
    : await client.query<DayRow>(CANDIDATE_DAYS, [
        pairs,
        numBounds.map((b) => b[0]),
        numBounds.map((b) => b[1]),
        textBounds.map((b) => b[0]),
        textBounds.map((b) => b[1]),
        [...days],
      ]);
  if (candidates.rows.length === 0) return new Set();

  // What to read in each day partition.
  const timeDays = new Set<string>();
  const idDays = new Map<number, { day: number; lo: string | null; hi: string | null; tlo: string | null; thi: string | null }[]>();
  for (const r of candidates.rows) {
    timeDays.add(`${r.pair_id}|${r.day}`);
    push(idDays, r.pair_id, {
      day: r.day,
      lo: r.num_lo,
      hi: r.num_hi,
      tlo: r.text_lo,
      thi: r.text_hi,
    });
  }
  const times = new Map<number, Map<number, number[]>>(); // day -> pair -> times
  const idRanges = new Map<number, Map<number, bigint[]>>(); // day -> pair -> ids
  const textIds = new Map<number, [number, string][]>(); // day -> [pair, id]
  const inDay = <T>(m: Map<number, Map<number, T[]>>, day: number, pairId: number, v: T) => {
    let byPair = m.get(day);
    if (!byPair) m.set(day, (byPair = new Map()));
    push(byPair, pairId, v);
  };
  for (const p of probes) {
    if (p.num === null && p.text === null) {
      const day = dayOf(p.timestamp);
      if (timeDays.has(`${p.pairId}|${day}`)) inDay(times, day, p.pairId, p.timestamp);
      continue;
    }
    const num = p.num;
    for (const d of idDays.get(p.pairId) ?? []) {
      if (num !== null) {
        if (d.lo !== null && compareCanonicalIntegers(num, d.lo) >= 0 && compareCanonicalIntegers(num, d.hi!) <= 0) inDay(idRanges, d.day, p.pairId, BigInt(num));
      } else if (d.tlo !== null && byteOrder(p.text!, d.tlo) >= 0 && byteOrder(p.text!, d.thi!) <= 0) {
        push(textIds, d.day, [p.pairId, p.text!]);
      }
    }
  }

  const parts: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown) => `$${params.push(v)}`;
  const rangeParams = <T extends number | bigint>(byPair: Map<number, T[]>, gap: T) => {
    const ids: number[] = [];
    const los: string[] = [];
    const his: string[] = [];
    for (const [pairId, values] of byPair) {
      for (const [lo, hi] of runs(values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), gap)) {
        ids.push(pairId);
        los.push(String(lo));
        his.push(String(hi));
      }
    }
    return `unnest(${param(ids)}::int4[], ${param(los)}::int8[], ${param(his)}::int8[]) AS r(pair_id, lo, hi)`;
  };
  for (const [day, byPair] of times) {
    parts.push(`SELECT t.pair_id, t."timestamp", t.price, NULL::int8 AS feed_num, NULL::text AS feed_text
      FROM ${rangeParams(byPair, TIME_GAP_MS)} CROSS JOIN LATERAL (
        SELECT pair_id, "timestamp", price FROM ONLY ${partitionName(day)} t
        WHERE t.pair_id = r.pair_id AND t."timestamp" BETWEEN r.lo AND r.hi AND t.feed_num IS NULL AND t.feed_text IS NULL
        OFFSET 0) t`);
  }
  for (const [day, byPair] of idRanges) {
    parts.push(`SELECT t.pair_id, NULL::int8 AS "timestamp", NULL::float8 AS price, t.feed_num, NULL::text AS feed_text
      FROM ${rangeParams(byPair, ID_GAP)} CROSS JOIN LATERAL (
        SELECT pair_id, feed_num FROM ONLY ${partitionName(day)} t
        WHERE t.pair_id = r.pair_id AND COALESCE(t.feed_num, hashtextextended(t.feed_text, 0)) BETWEEN r.lo AND r.hi
          AND (t.feed_num IS NOT NULL OR t.feed_text IS NOT NULL) AND t.feed_num IS NOT NULL
        OFFSET 0) t`);
  }
  for (const [day, list] of textIds) {
    parts.push(`SELECT t.pair_id, NULL::int8 AS "timestamp", NULL::float8 AS price, NULL::int8 AS feed_num, t.feed_text
      FROM unnest(${param(list.map((x) => x[0]))}::int4[], ${param(list.map((x) => x[1]))}::text[]) AS r(pair_id, txt) CROSS JOIN LATERAL (
        SELECT pair_id, feed_text FROM ONLY ${partitionName(day)} t
        WHERE t.pair_id = r.pair_id AND COALESCE(t.feed_num, hashtextextended(t.feed_text, 0)) = hashtextextended(r.txt, 0)
          AND (t.feed_num IS NOT NULL OR t.feed_text IS NOT NULL) AND t.feed_text = r.txt
        OFFSET 0) t`);
  }
  if (parts.length === 0) return new Set();
  const stored = await client.query<{ pair_id: number; timestamp: string | null; price: number | null; feed_num: string | null; feed_text: string | null }>(
    parts.join('\nUNION ALL\n'),
    params,
  );
  const keys = new Set(
    stored.rows.map((r) =>
      r.feed_num !== null ? numKey(r.pair_id, r.feed_num) : r.feed_text !== null ? textKey(r.pair_id, r.feed_text) : timeKey(r.pair_id, Number(r.timestamp), r.price!),
    ),
  );
  const found = new Set<number>();
  probes.forEach((p, i) => {
    if (keys.has(keyOf(p))) found.add(i);
  });
  return found;
}
