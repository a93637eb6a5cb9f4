/** A tick as a test posts it to `/api/ticks`. */
export interface PostedTick {
  pair: string;
  price: number;
  timestamp: number;
  id: string;
}

/** `n` ticks of one pair with ids `<tag>-<from + i>`, distinct prices and timestamps, `agoMs` in the past. */
export function ticksFor(pair: string, tag: string, from: number, n: number, agoMs = 30_000): PostedTick[] {
  const base = Date.now() - agoMs;
  return Array.from({ length: n }, (_, i) => ({ pair, price: Number((1 + (from + i) / 100_000).toFixed(5)), timestamp: base + from + i, id: `${tag}-${from + i}` }));
}
