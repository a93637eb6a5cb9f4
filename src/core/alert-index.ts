import { crosses, firesOn, type WatchedAlert } from './alert-crossing.js';
import { toSymbol } from './pair.js';

/** The alerts of one instrument: `above` by level ascending, `below` by level descending, so the nearest level of each side is first. */
interface SideLists {
  above: WatchedAlert[];
  below: WatchedAlert[];
}

/** Most spellings remembered for their symbol (the hot path skips computing it). */
const SPELLING_CACHE = 10_000;

/**
 * The alerts that have not fired, per instrument (symbol), arranged so that a tick costs two map
 * look-ups and two comparisons (the lowest `above` level and the highest `below` level) until its
 * price reaches a level. Pure: no I/O.
 */
export class AlertIndex {
  private readonly bySymbol = new Map<string, SideLists>();
  private readonly byId = new Map<number, { sym: string; alert: WatchedAlert }>();
  private readonly symbolOf = new Map<string, string>();

  get size(): number {
    return this.byId.size;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Adds (or replaces) an alert. */
  add(alert: WatchedAlert): void {
    this.remove(alert.id);
    const sym = toSymbol(alert.pair);
    let lists = this.bySymbol.get(sym);
    if (!lists) this.bySymbol.set(sym, (lists = { above: [], below: [] }));
    if (alert.condition === 'above') insertSorted(lists.above, alert, (a, b) => a.price - b.price);
    else insertSorted(lists.below, alert, (a, b) => b.price - a.price);
    this.byId.set(alert.id, { sym, alert });
  }

  /** Removes an alert; false when it was not here. */
  remove(id: number): boolean {
    const entry = this.byId.get(id);
    if (!entry) return false;
    this.byId.delete(id);
    const lists = this.bySymbol.get(entry.sym)!;
    const side = entry.alert.condition === 'above' ? lists.above : lists.below;
    side.splice(side.indexOf(entry.alert), 1);
    if (lists.above.length === 0 && lists.below.length === 0) this.bySymbol.delete(entry.sym);
    return true;
  }

  /** Every alert, in no particular order. */
  all(): WatchedAlert[] {
    return [...this.byId.values()].map((e) => e.alert);
  }

  /**
   * The alerts this tick fires (at or beyond their level, made at or before its timestamp), taken
   * out of the index. A tick that reaches no level costs O(1).
   */
  take(tick: { pair: string; price: number; timestamp: number }): WatchedAlert[] {
    if (this.byId.size === 0) return NONE;
    const lists = this.bySymbol.get(this.symbol(tick.pair));
    if (!lists) return NONE;
    const { above, below } = lists;
    // The fast path: the price is strictly between the nearest levels of both sides.
    if ((above.length === 0 || tick.price < above[0]!.price) && (below.length === 0 || tick.price > below[0]!.price)) return NONE;
    const fired: WatchedAlert[] = [];
    for (const side of [above, below]) {
      for (const a of side) {
        // Nearest level first: the first one the price has not reached ends the side.
        if (!crosses(a.condition, a.price, tick.price)) break;
        if (firesOn(a, tick)) fired.push(a);
      }
    }
    for (const a of fired) this.remove(a.id);
    return fired;
  }

  private symbol(pair: string): string {
    let sym = this.symbolOf.get(pair);
    if (sym === undefined) {
      if (this.symbolOf.size >= SPELLING_CACHE) this.symbolOf.clear();
      sym = toSymbol(pair);
      this.symbolOf.set(pair, sym);
    }
    return sym;
  }
}

const NONE: WatchedAlert[] = [];

/** Inserts keeping `list` sorted by `cmp` (after equal elements: the older alert stays first). */
function insertSorted<T>(list: T[], item: T, cmp: (a: T, b: T) => number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}
