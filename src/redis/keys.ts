import { toSymbol } from '../core/pair.js';
import type { Timeframe } from '../core/timeframe.js';

/**
 * The one place that names Redis keys and channels. The contract keys (`ticks:`, `updates:`,
 * `historical:`) keep the seed's layout; the rest are QuFLX's own. A prefix (empty in
 * production) lets tests share one Redis without touching each other.
 */
export class RedisKeys {
  constructor(readonly prefix = '') {}

  /** List of tick JSON, newest first, capped at TICK_BUFFER_SIZE. */
  ticks(pair: string): string {
    return `${this.prefix}ticks:${toSymbol(pair)}`;
  }
  /** Pub/sub channel: one message per accepted tick. */
  updates(pair: string): string {
    return `${this.prefix}updates:${toSymbol(pair)}`;
  }
  /** JSON array of the last CANDLE_CACHE_SIZE candles, oldest first. */
  historical(pair: string, tf: Timeframe): string {
    return `${this.prefix}historical:${toSymbol(pair)}:${tf}`;
  }
  /** Per-pair counter: the seq of the pair's last accepted tick. */
  seq(pair: string): string {
    return `${this.prefix}seq:${toSymbol(pair)}`;
  }
  /** Sorted set of recent tick identities (score: tick timestamp), for dedup. */
  seen(pair: string): string {
    return `${this.prefix}seen:${toSymbol(pair)}`;
  }
  /** Candle inputs of recent ticks (seq, timestamp, price, identity), newest first: lets a cache fill catch up. */
  candleDelta(pair: string): string {
    return `${this.prefix}cdelta:${toSymbol(pair)}`;
  }
  /** Hash of the closed candles' states behind `historical:<SYM>:<TF>` (one field per bucket); expires with it. */
  candleState(pair: string, tf: Timeframe): string {
    return `${this.prefix}cstate:${toSymbol(pair)}:${tf}`;
  }
  /** The pair's candle tail: its latest tick and, per cached timeframe, the forming candle; says which caches exist. */
  candleTail(pair: string): string {
    return `${this.prefix}ctail:${toSymbol(pair)}`;
  }
  /** Counter bumped whenever a pair's history is rewritten (an import): a fill that read before it is void. */
  candleGeneration(pair: string): string {
    return `${this.prefix}cgen:${toSymbol(pair)}`;
  }
  /** Set of every pair name ever accepted. */
  pairs(): string {
    return `${this.prefix}pairs`;
  }
  /** Stream of accepted ticks awaiting persistence (consumer group `persister`): one entry per pair per micro-batch. */
  persistQueue(): string {
    return `${this.prefix}queue:persist`;
  }
  /** Ticks in the persist queue's entries (kept by the ingest and trim scripts). */
  persistQueueTicks(): string {
    return `${this.prefix}queue:persist:ticks`;
  }
}

/** The consumer group that the persister reads the persist queue with. */
export const PERSIST_GROUP = 'persister';
