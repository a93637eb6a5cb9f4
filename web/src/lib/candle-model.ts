import { sameBar } from '../../../src/core/candle.js';
import { bucketTime } from './timeframes.js';
import { TimeSeries } from './time-series.js';
import type { Candle, SeqTick } from './types.js';

/** Bars kept in doubt at most (a long hole beyond it is the fresh snapshot's to repair). */
const MAX_DOUBTED = 500;

/**
 * The candles of one pair and timeframe as the chart shows them. Sources, from least to most
 * authoritative: history from GET /api/candles, the subscribe snapshot, the server's `candle`
 * events; in between, arriving ticks move the forming bar at once (client-side, the same
 * bucketing as the server), and the next `candle` event from the server corrects it.
 *
 * A bar is *unconfirmed* while its latest data is not the server's candle event: moved by a tick,
 * the snapshot's newest bar (read before the subscription took the live candles), or a bucket a
 * stepped-over hole in seq may have touched. In steady state the event follows the bar's last
 * tick within moments; a closed bar still unconfirmed after that (an event lost, a bar that
 * closed while a subscribe was answered, a hole) is a suspect: `suspects()` says which, and
 * `repair()` takes the server's candles for them (see candle-repair.ts).
 */
export class CandleModel {
  readonly series = new TimeSeries<Candle>();
  /** Timestamp of the tick that set each tick-built close, so an older (late) tick cannot move it. */
  private readonly closeAt = new Map<number, number>();
  /** Bar times (present or not) whose latest data is not a server candle. */
  private readonly unconfirmed = new Set<number>();
  /** The snapshot's newest bar time, until the live stream brings a bar: buckets in between are in doubt. */
  private snapshotNewest: number | null = null;
  /** True once a server snapshot is in: history then only adds what is missing. */
  live = false;
  /** Bumped by every snapshot and clear: a repair read before it is void. */
  generation = 0;

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
    this.generation++;
    const from = candles[0]?.time ?? Number.POSITIVE_INFINITY;
    for (const t of this.unconfirmed) if (t >= from) this.unconfirmed.delete(t);
    // Its newest bar was read before the subscription joined the live candles: ticks that came
    // in between are in neither, and if the bar closed meanwhile no event of it follows.
    const newest = candles[candles.length - 1];
    if (newest) this.unconfirmed.add(newest.time);
    this.snapshotNewest = newest?.time ?? null;
  }

  /** A server `candle` event: the bar as the server has it, late ticks included. */
  applyCandle(candle: Candle): void {
    this.joinSnapshot(candle.time);
    this.series.set(copy(candle));
    this.closeAt.delete(candle.time);
    this.unconfirmed.delete(candle.time);
  }

  /**
   * Ticks between these timestamps (ms) were stepped over (a hole in seq the backfill could not
   * fill): every bucket they span is in doubt, whether the chart has a bar there or not.
   */
  doubt(fromMs: number, toMs: number): void {
    const first = bucketTime(Math.min(fromMs, toMs), this.tfSeconds);
    const last = bucketTime(Math.max(fromMs, toMs), this.tfSeconds);
    for (let t = Math.max(first, last - (MAX_DOUBTED - 1) * this.tfSeconds); t <= last; t += this.tfSeconds) this.unconfirmed.add(t);
    this.bound();
  }

  /**
   * Closed bars (older than the newest) that are not confirmed by a server candle, oldest first;
   * the newest may still take ticks and events, so it is not one until the next bar opens.
   */
  suspects(): number[] {
    const newest = this.series.last()?.time;
    if (newest === undefined || this.unconfirmed.size === 0) return [];
    const out: number[] = [];
    for (const t of this.unconfirmed) if (t < newest) out.push(t);
    return out.sort((a, b) => a - b);
  }

  /**
   * The server's candles (GET /api/candles, oldest first) for the suspects in their span: each
   * still unconfirmed is set to the server's bar (added where the chart lacks it) and confirmed.
   * A bar confirmed by an event meanwhile keeps the event's data (it may be newer than the read).
   * Returns the times whose bar changed.
   */
  repair(candles: readonly Candle[], suspects: readonly number[]): number[] {
    const byTime = new Map(candles.map((c) => [c.time, c]));
    const changed: number[] = [];
    for (const t of suspects) {
      if (!this.unconfirmed.has(t)) continue;
      const server = byTime.get(t);
      const mine = this.series.get(t);
      if (server && !(mine && sameBar(server, mine))) {
        this.series.set(copy(server));
        changed.push(t);
      }
      // Read (a bucket the server has no bar in had no ticks), or older than the read reaches
      // (nothing better to be had): no longer in doubt either way.
      this.unconfirmed.delete(t);
      this.closeAt.delete(t);
    }
    return changed;
  }

  /** A live tick: moves its bar at once, or opens the next one. */
  applyTick(tick: SeqTick): void {
    const time = bucketTime(tick.timestamp, this.tfSeconds);
    this.joinSnapshot(time);
    const bar = this.series.get(time);
    this.unconfirmed.add(time);
    if (!bar) {
      this.series.set({ time, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: 1 });
      this.closeAt.set(time, tick.timestamp);
      this.forget();
      this.bound();
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
    this.unconfirmed.clear();
    this.snapshotNewest = null;
    this.live = false;
    this.generation++;
  }

  /**
   * The first live bar after a snapshot: buckets between the snapshot's newest bar and it may
   * have had ticks while the subscribe was answered (in neither the snapshot nor an event).
   */
  private joinSnapshot(time: number): void {
    const from = this.snapshotNewest;
    if (from === null || time < from) return;
    this.snapshotNewest = null;
    if (time > from + this.tfSeconds) this.doubt((from + this.tfSeconds) * 1000, (time - this.tfSeconds) * 1000);
  }

  /** Keeps the doubted set bounded: the oldest go first. */
  private bound(): void {
    if (this.unconfirmed.size <= MAX_DOUBTED) return;
    const keep = [...this.unconfirmed].sort((a, b) => b - a).slice(0, MAX_DOUBTED);
    this.unconfirmed.clear();
    for (const t of keep) this.unconfirmed.add(t);
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
