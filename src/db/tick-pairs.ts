import type pg from 'pg';

/** A pair whose symbol another stored pair name already has (one name per symbol). */
export class PairSymbolConflictError extends Error {
  /** SQLSTATE unique_violation: to the persister a refused row, set aside like any other. */
  readonly code = '23505';
  constructor(pairs: string[]) {
    super(`pair ${pairs.map((p) => JSON.stringify(p)).join(', ')}: another stored pair has the same symbol (letters, digits and _ of the name)`);
    this.name = 'PairSymbolConflictError';
  }
}

const PAIR_IDS = `WITH input AS (SELECT unnest($1::varchar[]) AS pair),
     added AS (
       INSERT INTO tick_pairs (pair, symbol)
       SELECT pair, regexp_replace(pair, '[^A-Za-z0-9_]', '', 'g') FROM input
       WHERE pair NOT IN (SELECT pair FROM tick_pairs)
       ORDER BY pair
       ON CONFLICT DO NOTHING
       RETURNING id, pair)
     SELECT id, pair FROM added UNION ALL SELECT p.id, p.pair FROM tick_pairs p JOIN input USING (pair)`;

/**
 * The tick_pairs id of each pair, adding the pairs not seen before (their symbol must be free).
 * New rows become visible to others when the caller's transaction commits.
 */
export async function pairIds(client: pg.ClientBase, pairs: Iterable<string>): Promise<Map<string, number>> {
  let names = [...new Set(pairs)].sort();
  const ids = new Map<string, number>();
  // A pair another transaction added while this statement waited on it is not in the statement's
  // snapshot: the second round, a new statement, finds it. Still missing then: its symbol is taken.
  for (let round = 0; round < 2 && names.length > 0; round++) {
    const r = await client.query<{ id: number; pair: string }>(PAIR_IDS, [names]);
    for (const x of r.rows) ids.set(x.pair, x.id);
    names = names.filter((p) => !ids.has(p));
  }
  if (names.length > 0) throw new PairSymbolConflictError(names);
  return ids;
}

/** Every stored pair name, in name order: one indexed scan of a table with a row per pair. */
export async function listStoredPairs(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  return (await db.query<{ pair: string }>('SELECT pair FROM tick_pairs ORDER BY pair')).rows.map((r) => r.pair);
}
