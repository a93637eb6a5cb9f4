import type pg from 'pg';
import { toSymbol } from '../core/pair.js';

/**
 * The stored pairs, one spelling per symbol: what seeds the pair registry when Redis has lost its
 * names. Read from the candle rollups (every stored tick's pair is there, and they outlive tick
 * retention) with a loose index scan, so it costs one index probe per pair, not a table scan.
 * Where an older release stored several spellings of one symbol, the one whose data goes back
 * furthest is taken (the first seen), ties by name.
 */
export async function storedPairs(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ pair: string; first: string | null }>(`
    WITH RECURSIVE p(pair) AS (
      (SELECT pair FROM tick_rollups ORDER BY pair LIMIT 1)
      UNION ALL
      SELECT (SELECT r.pair FROM tick_rollups r WHERE r.pair > p.pair ORDER BY r.pair LIMIT 1) FROM p WHERE p.pair IS NOT NULL
    )
    SELECT pair, (SELECT min(bucket) FROM tick_rollups r WHERE r.pair = p.pair AND r.size = 3600) AS first
    FROM p WHERE pair IS NOT NULL`);
  const bySymbol = new Map<string, { pair: string; first: number }>();
  for (const r of rows) {
    const sym = toSymbol(r.pair);
    const first = r.first === null ? Number.POSITIVE_INFINITY : Number(r.first);
    const had = bySymbol.get(sym);
    if (!had || first < had.first || (first === had.first && r.pair < had.pair)) bySymbol.set(sym, { pair: r.pair, first });
  }
  return [...bySymbol.values()].map((x) => x.pair).sort();
}

/** The stored spelling of `pair`'s symbol (any spelling finds it), or `pair` itself when nothing of it is stored. */
export async function storedSpelling(db: pg.Pool | pg.ClientBase, pair: string): Promise<string> {
  const sym = toSymbol(pair);
  return (await storedPairs(db)).find((p) => toSymbol(p) === sym) ?? pair;
}
