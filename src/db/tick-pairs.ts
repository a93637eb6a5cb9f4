import type pg from 'pg';
import { toSymbol } from '../core/pair.js';

const PAIR_IDS = `WITH input AS (SELECT unnest($1::varchar[]) AS pair),
     added AS (
       INSERT INTO tick_pairs (pair, symbol)
       SELECT pair, regexp_replace(pair, '[^A-Za-z0-9_]', '', 'g') FROM input
       WHERE pair NOT IN (SELECT pair FROM tick_pairs)
       ORDER BY pair
       ON CONFLICT DO NOTHING
       RETURNING id, pair)
     SELECT id, pair FROM added UNION ALL SELECT p.id, p.pair FROM tick_pairs p JOIN input USING (pair)`;

/** A stored pair: its tick_pairs id and the one name its symbol is stored under. */
export interface StoredPair {
  id: number;
  pair: string;
}

/**
 * The tick_pairs row of each pair, adding the pairs not seen before. One instrument per symbol:
 * a spelling whose symbol is stored under another name gets that row (its ticks are stored under
 * the stored name), so a tick is never refused for its spelling. New rows become visible to
 * others when the caller's transaction commits.
 */
export async function pairIds(client: pg.ClientBase, pairs: Iterable<string>): Promise<Map<string, StoredPair>> {
  let names = [...new Set(pairs)].sort();
  const ids = new Map<string, StoredPair>();
  // A pair another transaction added while this statement waited on it is not in the statement's
  // snapshot: the second round, a new statement, finds it. Still missing then: its symbol is taken.
  for (let round = 0; round < 2 && names.length > 0; round++) {
    const r = await client.query<{ id: number; pair: string }>(PAIR_IDS, [names]);
    for (const x of r.rows) ids.set(x.pair, { id: x.id, pair: x.pair });
    names = names.filter((p) => !ids.has(p));
  }
  if (names.length > 0) {
    const bySymbol = await client.query<{ id: number; pair: string; symbol: string }>(
      'SELECT id, pair, symbol FROM tick_pairs WHERE symbol = ANY($1::text[])',
      [names.map(toSymbol)],
    );
    const found = new Map(bySymbol.rows.map((x) => [x.symbol, { id: x.id, pair: x.pair }]));
    for (const p of names) {
      const row = found.get(toSymbol(p));
      if (!row) throw new Error(`pair ${JSON.stringify(p)}: no tick_pairs row could be made or found for it`);
      ids.set(p, row);
    }
  }
  return ids;
}

/** Every stored pair name, in name order: one indexed scan of a table with a row per pair. */
export async function listStoredPairs(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  return (await db.query<{ pair: string }>('SELECT pair FROM tick_pairs ORDER BY pair')).rows.map((r) => r.pair);
}

/** The stored name of `pair`'s symbol (any spelling finds it), or `pair` itself when nothing of it is stored. */
export async function storedSpelling(db: pg.Pool | pg.ClientBase, pair: string): Promise<string> {
  const r = await db.query<{ pair: string }>('SELECT pair FROM tick_pairs WHERE symbol = $1', [toSymbol(pair)]);
  return r.rows[0]?.pair ?? pair;
}
