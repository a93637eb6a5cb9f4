import calculateSlot from 'cluster-key-slot';
import { ConfigError } from '../core/errors.js';
import { toSymbol } from '../core/pair.js';
import type { Timeframe } from '../core/timeframe.js';

/** Persist streams on a Redis Cluster: a fixed number, so every persister knows them all without discovery. */
export const CLUSTER_PERSIST_STREAMS = 16;

/** The database index a `redis://host:port/<db>` URL selects (as node-redis reads it); 0 when none. */
export function redisDatabase(url: string | undefined): number {
  if (!url) return 0;
  const path = new URL(url.split(',')[0]!).pathname;
  return path.length > 1 ? Number(path.slice(1)) : 0;
}

/** The key names for a deployment on this Redis (see redis/connection.ts's detectRedisTarget). */
export function keysFor(prefix: string, target: { urls: string[]; cluster: boolean }): RedisKeys {
  if (!target.cluster) return new RedisKeys(prefix, redisDatabase(target.urls[0]));
  // A brace in the prefix would become the hash tag of every key.
  if (/[{}]/.test(prefix)) throw new ConfigError([`REDIS_KEY_PREFIX=${JSON.stringify(prefix)}: must not hold { or } on a Redis Cluster (the pair's symbol is the hash tag)`]);
  return new RedisKeys(prefix, 0, true);
}

/**
 * The one place that names Redis keys and channels. The contract keys (`ticks:`, `updates:`,
 * `historical:`) keep the seed's layout; the rest are QuFLX's own. A prefix (empty in
 * production) lets tests share one Redis without touching each other.
 *
 * Keys live in the selected database, but pub/sub channels are server-wide (Redis ignores the DB
 * index for them): on a database other than 0 every channel carries it (`db5:updates:<SYM>`), so
 * deployments on different databases of one Redis never hear each other's ticks.
 *
 * On a Redis Cluster every per-pair key and channel carries the symbol as a hash tag
 * (`ticks:{EURUSD_otc}`), so one pair's keys share a slot and one script call can touch them all;
 * the persist queue is then CLUSTER_PERSIST_STREAMS streams spread over the slots, fed from a
 * per-pair outbox (see persist-outbox.ts). Single-node names stay exactly as they were.
 */
export class RedisKeys {
  private readonly channelPrefix: string;
  private readonly queues: string[];

  constructor(
    readonly prefix = '',
    readonly database = 0,
    readonly cluster = false,
  ) {
    this.channelPrefix = database === 0 ? prefix : `${prefix}db${database}:`;
    this.queues = cluster
      ? Array.from({ length: CLUSTER_PERSIST_STREAMS }, (_, k) => `${prefix}queue:persist:{${k}}`)
      : [`${prefix}queue:persist`];
  }

  /** The symbol as it appears in key names: a hash tag on a cluster. */
  private sym(pair: string): string {
    const s = toSymbol(pair);
    return this.cluster ? `{${s}}` : s;
  }

  /** List of tick JSON, newest first, capped at TICK_BUFFER_SIZE. */
  ticks(pair: string): string {
    return `${this.prefix}ticks:${this.sym(pair)}`;
  }
  /** Pub/sub channel: one message per accepted tick (`db<N>:` in front on database N > 0). */
  updates(pair: string): string {
    return `${this.channelPrefix}updates:${this.sym(pair)}`;
  }
  /** JSON array of the last CANDLE_CACHE_SIZE candles, oldest first. */
  historical(pair: string, tf: Timeframe): string {
    return `${this.prefix}historical:${this.sym(pair)}:${tf}`;
  }
  /** Per-pair counter: the seq of the pair's last accepted tick. */
  seq(pair: string): string {
    return `${this.prefix}seq:${this.sym(pair)}`;
  }
  /** Sorted set of recent tick identities (score: tick timestamp), for dedup. */
  seen(pair: string): string {
    return `${this.prefix}seen:${this.sym(pair)}`;
  }
  /** Candle inputs of recent ticks (seq, timestamp, price, identity), newest first: lets a cache fill catch up. */
  candleDelta(pair: string): string {
    return `${this.prefix}cdelta:${this.sym(pair)}`;
  }
  /** Hash of the closed candles' states behind `historical:<SYM>:<TF>` (one field per bucket); expires with it. */
  candleState(pair: string, tf: Timeframe): string {
    return `${this.prefix}cstate:${this.sym(pair)}:${tf}`;
  }
  /** The pair's candle tail: its latest tick and, per cached timeframe, the forming candle; says which caches exist. */
  candleTail(pair: string): string {
    return `${this.prefix}ctail:${this.sym(pair)}`;
  }
  /** Counter bumped whenever a pair's history is rewritten (an import): a fill that read before it is void. */
  candleGeneration(pair: string): string {
    return `${this.prefix}cgen:${this.sym(pair)}`;
  }
  /** Set of pair names accepted by QuFLX before the candle tail; read once at start to drop their caches (see CandleStore.dropLegacy), no longer written. */
  pairs(): string {
    return `${this.prefix}pairs`;
  }
  /** Hash SYM -> canonical pair: one instrument per symbol, the first spelling seen (pair-registry.ts). */
  instruments(): string {
    return `${this.prefix}instruments`;
  }
  /** Stream of accepted ticks awaiting persistence (consumer group `persister`): one entry per pair per micro-batch. Single node only. */
  persistQueue(): string {
    return this.queues[0]!;
  }
  /** Every persist stream: one on a single node, CLUSTER_PERSIST_STREAMS on a cluster. */
  persistQueues(): readonly string[] {
    return this.queues;
  }
  /** The persist stream a pair's ticks go to. */
  persistQueueOf(pair: string): string {
    if (!this.cluster) return this.queues[0]!;
    return this.queues[calculateSlot(toSymbol(pair)) % CLUSTER_PERSIST_STREAMS]!;
  }
  /** Ticks in a persist stream's entries (kept by the ingest or outbox move, and the trim script); same slot as the stream. */
  persistQueueCount(queue: string): string {
    return `${queue}:ticks`;
  }
  /**
   * Where the ingest script puts a pair's accepted ticks for the persister: the persist queue on a
   * single node; on a cluster the pair's outbox stream (its own slot), moved on to persistQueueOf(pair).
   */
  ingestQueue(pair: string): string {
    return this.cluster ? `${this.prefix}outbox:${this.sym(pair)}` : this.queues[0]!;
  }
  /**
   * A count that is at least the pair's accepted ticks not yet stored (a candle fill reads that
   * many of cdelta): the whole persist queue's on a single node, the pair's own on a cluster.
   */
  unstoredCount(pair: string): string {
    return this.cluster ? `${this.prefix}unstored:${this.sym(pair)}` : this.persistQueueTicks();
  }
  /** Pub/sub channel: every alert that fired (FiredAlert JSON), published once by the process that claimed it. */
  alertsFired(): string {
    return `${this.channelPrefix}alerts:fired`;
  }
  /** Pub/sub channel: alerts made or deleted (`{"op":"add","alert":...}`, `{"op":"remove","id":N}`), so every process watches the same ones. */
  alertChanges(): string {
    return `${this.channelPrefix}alerts:changes`;
  }
  /** Ticks in the persist queue's entries (kept by the ingest and trim scripts). Single node only. */
  persistQueueTicks(): string {
    return this.persistQueueCount(this.queues[0]!);
  }
}

/** The consumer group that the persister reads the persist queue with. */
export const PERSIST_GROUP = 'persister';
