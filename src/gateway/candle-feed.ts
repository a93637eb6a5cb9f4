import type { CandleService } from '../candles/candle-service.js';
import { bucketTime, toCandle } from '../core/candle.js';
import type { SeqTick } from '../core/tick.js';
import type { Timeframe } from '../core/timeframe.js';
import type { Logger } from '../observability/logger.js';
import type { CandleStore } from '../redis/candle-store.js';
import type { CandleEvent } from '../shared/events.js';

export const candleRoom = (pair: string, tf: Timeframe) => `candles:${pair}:${tf}`;

/**
 * Live candles for subscribers: after each fan-out of a pair's ticks, the buckets those ticks
 * touched are read from the shared Redis candle cache (so every process sends the same candle,
 * late ticks included) and sent as `candle` events to the pair/timeframe room, in time order.
 * Reads for one pair/timeframe run one after another, so an older state never overtakes a newer.
 */
export class CandleFeed {
  /** pair -> timeframe -> subscribed sockets */
  private readonly subscribed = new Map<string, Map<Timeframe, number>>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    /** Sends one event to a room. */
    private readonly send: (room: string, event: CandleEvent) => void,
    private readonly store: CandleStore,
    private readonly service: CandleService,
    private readonly cacheSize: number,
    private readonly log: Logger,
  ) {}

  /** Candle history for a new subscriber (cache-first; fills the cache, which live updates read). */
  async history(pair: string, tf: Timeframe) {
    return (await this.service.candles(pair, tf, this.cacheSize)).candles;
  }

  add(pair: string, tf: Timeframe): void {
    let tfs = this.subscribed.get(pair);
    if (!tfs) this.subscribed.set(pair, (tfs = new Map()));
    tfs.set(tf, (tfs.get(tf) ?? 0) + 1);
  }

  remove(pair: string, tf: Timeframe): void {
    const tfs = this.subscribed.get(pair);
    const n = (tfs?.get(tf) ?? 0) - 1;
    if (n > 0) tfs!.set(tf, n);
    else {
      tfs?.delete(tf);
      if (tfs?.size === 0) this.subscribed.delete(pair);
    }
  }

  /** Called with each fan-out batch of a pair (seq order). */
  onTicks(pair: string, ticks: readonly SeqTick[]): void {
    const tfs = this.subscribed.get(pair);
    if (!tfs) return;
    for (const tf of tfs.keys()) {
      const times = [...new Set(ticks.map((t) => bucketTime(t.timestamp, tf)))].sort((a, b) => a - b);
      const key = `${pair}\n${tf}`;
      const next = (this.chains.get(key) ?? Promise.resolve()).then(() => this.emit(pair, tf, times));
      this.chains.set(key, next);
      void next.finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    }
  }

  private async emit(pair: string, tf: Timeframe, times: number[]): Promise<void> {
    try {
      let states = await this.store.readStates(pair, tf, times);
      if (states.length === 0) {
        // The cache expired while subscribed: refill it (it then includes these ticks) and read again.
        await this.service.candles(pair, tf, this.cacheSize);
        states = await this.store.readStates(pair, tf, times);
      }
      for (const s of states) this.send(candleRoom(pair, tf), { pair, timeframe: tf, candle: toCandle(s) });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, pair, tf }, 'live candle update failed');
    }
  }
}
