import { backoffDelay } from '../../../src/lib/backoff.js';
import type { CandleModel } from './candle-model.js';
import type { Candle } from './types.js';

export interface CandleRepairOptions {
  /** The chart's model now (a new pair or timeframe is a new model). */
  model: () => CandleModel;
  /** GET /api/candles of the chart's pair and timeframe: the newest `limit` candles, oldest first. */
  read: (limit: number, signal: AbortSignal) => Promise<readonly Candle[]>;
  /** Bars were set to the server's (their times); the chart draws them. */
  repaired: (times: number[]) => void;
  /** How long a closed bar may wait for the server's candle event before it is read over HTTP. */
  graceMs: number;
  /** Reads of one chart at least this far apart; a failed read is tried again with backoff from here. */
  minIntervalMs: number;
  /** Cap of the retry backoff. */
  maxRetryMs: number;
  /** Most candles asked for in one read (the server's limit). */
  maxLimit: number;
  now: () => number;
  log: (message: string) => void;
}

/**
 * Keeps a chart's closed bars equal to the server's. A bar that closed without the server's candle
 * event for its last change (an event lost, a bar that closed while a subscribe was answered, a
 * bucket a hole in seq spanned; CandleModel.suspects) is read again with GET /api/candles once the
 * event has had `graceMs` to come, and set to the server's. In steady state the event always
 * comes, so nothing is read; a disturbance costs one read of the newest bars (a cache hit), and
 * reads of one chart are at least `minIntervalMs` apart.
 */
export class CandleRepair {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private abort: AbortController | null = null;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: CandleRepairOptions) {}

  /** After the model changed: a suspect bar gets its read scheduled (once; later ones join it). */
  check(): void {
    if (this.closed || this.timer || this.abort) return;
    if (this.options.model().suspects().length === 0) return;
    this.schedule(this.options.graceMs);
  }

  /** The chart shows something else: nothing pending is applied. */
  reset(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    this.abort = null;
    this.failures = 0;
  }

  close(): void {
    this.closed = true;
    this.reset();
  }

  private schedule(delayMs: number): void {
    const wait = Math.max(delayMs, this.lastReadAt + this.options.minIntervalMs - this.options.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.read();
    }, wait);
  }

  private async read(): Promise<void> {
    const model = this.options.model();
    const suspects = model.suspects();
    if (this.closed || suspects.length === 0) return;
    const generation = model.generation;
    const newest = model.series.last()!.time;
    // From the oldest suspect to the newest bar, and one more (the server's forming bar may be newer).
    const limit = Math.min(this.options.maxLimit, Math.round((newest - suspects[0]!) / model.tfSeconds) + 2);
    const abort = (this.abort = new AbortController());
    this.lastReadAt = this.options.now();
    let candles: readonly Candle[];
    try {
      candles = await this.options.read(limit, abort.signal);
    } catch (err) {
      if (this.abort !== abort) return; // reset meanwhile
      this.abort = null;
      const delay = backoffDelay(this.failures++, this.options.minIntervalMs, this.options.maxRetryMs);
      this.options.log(`re-reading ${suspects.length} closed bar(s) failed (${(err as Error).message}); again in ${delay} ms`);
      this.schedule(delay);
      return;
    }
    if (this.abort !== abort) return;
    this.abort = null;
    this.failures = 0;
    // A snapshot since (or another pair or timeframe) is newer than what this read may hold.
    if (this.closed || this.options.model() !== model || model.generation !== generation) {
      this.check();
      return;
    }
    const changed = model.repair(candles, suspects);
    if (changed.length > 0) {
      this.options.log(`${changed.length} closed bar(s) differed from the server's and were set to its candles`);
      this.options.repaired(changed);
    }
    this.check();
  }
}
