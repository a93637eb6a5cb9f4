import { bucketTime } from './timeframes.js';
import { TimeSeries } from './time-series.js';
import type { Candle, SeqTick } from './types.js';

/**
 * The candles of one pair and timeframe as the chart shows them. Sources, from least to most
 * authoritative: history from GET /api/candles, the subscribe snapshot, the server's `candle`
 * events; in between, arriving ticks move the forming bar at once (client-side, the same
 * bucketing as the server), and the next `candle` event from the server corrects it.
 */
export class CandleModel {
  readonly series = new TimeSeries<Candle>();
  /** Timestamp of the tick that set each tick-built close, so an older (late) tick cannot move it. */
  private readonly closeAt = new Map<number, number>();
  /** True once a server snapshot is in: history then only adds what is missing. */
  live = false;

  constructor(readonly tfSeconds: number) {}

  /** History: fills what is missing; before the first snapshot a fresher history also overwrites. */
  mergeHistory(candles: readonly Candle[]): number {
    return this.series.merge(candles.map(copy), !this.live);
  }

  /** The subscribe snapshot: authoritative from its first bar on (also after a reconnect). */
  applySnapshot(candles: readonly Candle[]): void {
    this.series.replaceFrom(candles.map(copy));
    this.closeAt.clear();
    this.live = true;
  }

  /** A server `candle` event: the bar as the server has it, late ticks included. */
  applyCandle(candle: Candle): void {
    this.series.set(copy(candle));
    this.closeAt.delete(candle.time);
  }

  /** A live tick: moves its bar at once, or opens the next one. */
  applyTick(tick: SeqTick): void {
    const time = bucketTime(tick.timestamp, this.tfSeconds);
    const bar = this.series.get(time);
    if (!bar) {
      this.series.set({ time, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: 1 });
      this.closeAt.set(time, tick.timestamp);
      this.forget();
      return;
    }
    if (tick.price > bar.high) bar.high = tick.price;
    if (tick.price < bar.low) bar.low = tick.price;
    bar.volume += 1;
    const at = this.closeAt.get(time);
    if (at === undefined || tick.timestamp >= at) {
      bar.close = tick.price;
      this.closeAt.set(time, tick.timestamp);
    }
    this.series.touch(time);
  }

  clear(): void {
    this.series.clear();
    this.closeAt.clear();
    this.live = false;
  }

  private forget(): void {
    // Only the last few bars ever take ticks.
    if (this.closeAt.size > 16) {
      const keep = [...this.closeAt.keys()].sort((a, b) => b - a).slice(0, 8);
      for (const t of [...this.closeAt.keys()]) if (!keep.includes(t)) this.closeAt.delete(t);
    }
  }
}

function copy(c: Candle): Candle {
  return { time: c.time, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}
