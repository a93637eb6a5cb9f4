/** Raw ticks as a feed or an HTTP client would send them: plain objects, not yet validated. */

export interface RawTick {
  pair: string;
  price: number;
  timestamp: number;
  id: number;
}

/**
 * Makes raw ticks with ids unique for the whole run (so no tick is ever a duplicate) and a small
 * random walk of prices per pair. Ids are consecutive integers: `nextId` tells the next one.
 */
export class TickFactory {
  private id: number;
  private readonly prices = new Map<string, number>();

  /** `firstId`: where this factory's ids start (factories in one run keep apart ranges). */
  constructor(
    readonly pairs: readonly string[],
    firstId = 1,
  ) {
    this.id = firstId;
    if (pairs.length === 0) throw new Error('TickFactory needs at least one pair');
    pairs.forEach((p, i) => this.prices.set(p, 1 + i * 0.25));
  }

  get nextId(): number {
    return this.id;
  }

  /** One tick of `pair`, stamped `timestamp` (default: now). */
  next(pair: string, timestamp = Date.now()): RawTick {
    const last = this.prices.get(pair) ?? 1;
    const price = Math.max(0.0001, last * (1 + (Math.random() - 0.5) * 1e-4));
    this.prices.set(pair, price);
    return { pair, price: Math.round(price * 1e5) / 1e5, timestamp, id: this.id++ };
  }

  /** `n` ticks, round robin over the pairs starting at pair index `offset`. */
  batch(n: number, offset = 0, timestamp = Date.now()): RawTick[] {
    const out: RawTick[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next(this.pairs[(offset + i) % this.pairs.length]!, timestamp);
    return out;
  }
}
