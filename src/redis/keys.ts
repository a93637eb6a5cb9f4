import { toSymbol } from '../core/pair.js';
import type { Timeframe } from '../core/timeframe.js';

/** The database index a `redis://host:port/<db>` URL selects (as node-redis reads it); 0 when none. */
export function redisDatabase(url: string | undefined): number {
  if (!url) return 0;
  const path = new URL(url).pathname;
  return path.length > 1 ? Number(path.slice(1)) : 0;
}

/**
 * The one place that names Redis keys and channels. The contract keys (`ticks:`, `updates:`,
 * `historical:`) keep the seed's layout; the rest are QuFLX's own. A prefix (empty in
 * production) lets tests share one Redis without touching each other.
 *
 * Keys live in the selected database, but pub/sub channels are server-wide (Redis ignores the DB
 * index for them): on a database other than 0 every channel carries it (`db5:updates:<SYM>`), so
 * deployments on different databases of one Redis never hear each other's ticks.
 */
export class RedisKeys {
  private readonly channelPrefix: string;

  constructor(
    readonly prefix = '',
    readonly database = 0,
  ) {
    this.channelPrefix = database === 0 ? prefix : `${prefix}db${database}:`;
  }

  /** List of tick JSON, newest first, capped at TICK_BUFFER_SIZE. */
  ticks(pair: string): string {
    return `${this.prefix}ticks:${toSymbol(pair)}`;
  }
  /** Pub/sub channel: one message per accepted tick (`db<N>:` in front on database N > 0). */
  updates(pair: string): string {
    return `${this.channelPrefix}updates:${toSymbol(pair)}`;
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
  /** Hash of candle states behind `historical:<SYM>:<TF>` (one field per bucket); exists only while cached. */
  candleState(pair: string, tf: Timeframe): string {
    return `${this.prefix}cstate:${toSymbol(pair)}:${tf}`;
  }
  /** Counter bumped whenever a pair's history is rewritten (an import): a fill that read before it is void. */
  candleGeneration(pair: string): string {
    return `${this.prefix}cgen:${toSymbol(pair)}`;
  }
  /** Set of every pair name ever accepted (written by the ingest script; read by nothing now: see instruments()). */
  pairs(): string {
    return `${this.prefix}pairs`;
  }
  /** Hash SYM -> canonical pair: one instrument per symbol, the first spelling seen (pair-registry.ts). */
  instruments(): string {
    return `${this.prefix}instruments`;
  }
  /** Stream of accepted ticks awaiting persistence (consumer group `persister`): one entry per pair per micro-batch. */
  persistQueue(): string {
    return `${this.prefix}queue:persist`;
  }
  /** Pub/sub channel: every alert that fired (FiredAlert JSON), published once by the process that claimed it. */
  alertsFired(): string {
    return `${this.channelPrefix}alerts:fired`;
  }
  /** Pub/sub channel: alerts made or deleted (`{"op":"add","alert":...}`, `{"op":"remove","id":N}`), so every process watches the same ones. */
  alertChanges(): string {
    return `${this.channelPrefix}alerts:changes`;
  }
  /** Ticks in the persist queue's entries (kept by the ingest and trim scripts). */
  persistQueueTicks(): string {
    return `${this.prefix}queue:persist:ticks`;
  }
}

/** The consumer group that the persister reads the persist queue with. */
export const PERSIST_GROUP = 'persister';
