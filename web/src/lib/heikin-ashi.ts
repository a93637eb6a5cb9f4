import type { Candle } from './types.js';

/**
 * Heikin-Ashi bars from ordinary candles (same times, same volume):
 *   close = (open + high + low + close) / 4
 *   open  = (previous HA open + previous HA close) / 2, for the first bar (open + close) / 2
 *   high  = max(high, HA open, HA close), low = min(low, HA open, HA close)
 * `before` is the Heikin-Ashi bar just before `candles[0]` (a tail recomputed after the forming
 * bar changed continues from it); without it `candles[0]` is the first bar.
 */
export function heikinAshi(candles: readonly Candle[], before?: Candle): Candle[] {
  const out: Candle[] = new Array(candles.length);
  let prev = before;
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    const close = (c.open + c.high + c.low + c.close) / 4;
    const open = prev ? (prev.open + prev.close) / 2 : (c.open + c.close) / 2;
    const bar = { time: c.time, open, high: Math.max(c.high, open, close), low: Math.min(c.low, open, close), close, volume: c.volume };
    out[i] = bar;
    prev = bar;
  }
  return out;
}

/**
 * The Heikin-Ashi bars of a candle series kept in step with it: each bar depends on the one
 * before, so a changed candle changes its own bar and every later one. Only that tail is
 * recomputed (live, the forming bar: one bar).
 */
export class HeikinAshiTrack {
  private bars: Candle[] = [];

  all(): readonly Candle[] {
    return this.bars;
  }

  /** Everything again (a reset of the candle series). */
  reset(candles: readonly Candle[]): readonly Candle[] {
    this.bars = heikinAshi(candles);
    return this.bars;
  }

  /**
   * The candles from index `from` on changed (replaced in place or appended): recomputes that
   * tail and returns its bars, oldest first.
   */
  updateFrom(candles: readonly Candle[], from: number): Candle[] {
    const start = Math.max(0, Math.min(from, this.bars.length));
    const tail = heikinAshi(candles.slice(start), start > 0 ? this.bars[start - 1] : undefined);
    this.bars.length = start;
    for (const b of tail) this.bars.push(b);
    return tail;
  }
}
