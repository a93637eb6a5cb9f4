/**
 * Merging a pair's ticks by seq after a gap: the one rule used by the gateway's resync (server)
 * and the page's backfill (browser). Pure; works on anything with a `seq`.
 */

export interface SeqMerge<T> {
  /** Every item with seq > `after`, once each, in seq order (a later source wins a tie). */
  items: T[];
  /** How many of `items` follow `after` without a hole. */
  contiguous: number;
  /** Seqs missing between `after` and `items[contiguous]` (0 when every item is contiguous). */
  missing: number;
}

/** Merges `sources` (in any order, with repeats) into the items after seq `after`. */
export function mergeBySeq<T extends { seq: number }>(after: number, ...sources: readonly (readonly T[])[]): SeqMerge<T> {
  const bySeq = new Map<number, T>();
  for (const source of sources) for (const item of source) if (item.seq > after) bySeq.set(item.seq, item);
  const items = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  let contiguous = 0;
  while (contiguous < items.length && items[contiguous]!.seq === after + 1 + contiguous) contiguous++;
  const missing = contiguous < items.length ? items[contiguous]!.seq - (after + 1 + contiguous) : 0;
  return { items, contiguous, missing };
}

/** True when `items` are exactly the seqs after `after`, in order: the usual live case, no merge needed. */
export function followsOn(after: number, items: readonly { seq: number }[]): boolean {
  for (let i = 0; i < items.length; i++) if (items[i]!.seq !== after + 1 + i) return false;
  return true;
}
