import { tickIdentity } from '../core/identity.js';
import type { SeqTick, Tick } from '../core/tick.js';
import { PERSIST_GROUP, type RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { TIMEFRAMES, timeframeSeconds } from '../core/timeframe.js';
import { CANDLE_DELTA_CAP, CandleStore } from './candle-store.js';
import type { RedisClient } from './connection.js';

const INGEST = new LuaScript('candle-lib.lua', 'ingest.lua');
/** Every timeframe's bit (see ingest.lua's cache masks). */
const ALL_TIMEFRAMES = (1 << TIMEFRAMES.length) - 1;
/** Calls of the ingest script for one batch before it passes every timeframe's keys (see write). */
const MASK_ATTEMPTS = 3;

export interface TickStoreOptions {
  tickBufferSize: number;
  /** Candles kept per cache key (CANDLE_CACHE_SIZE). */
  candleCacheSize: number;
  /** Identities are kept this long (by tick time) to recognise resent ticks. */
  dedupWindowMs?: number;
  /** and at most this many per pair. */
  dedupCap?: number;
}

export interface Snapshot {
  ticks: SeqTick[];
  seq: number;
}

/**
 * The tick JSON sent on every channel, without its closing brace (Lua appends `,"seq":N}`):
 * what JSON.stringify makes of { pair, price, timestamp, id? }, built from the pair's JSON.
 */
function tickJsonPrefix(t: Tick, pairJson: string): string {
  const head = `{"pair":${pairJson},"price":${t.price},"timestamp":${t.timestamp}`;
  return t.id === undefined ? head : `${head},"id":${JSON.stringify(t.id)}`;
}

/** A pair's key names for the ingest script, and which of its candle caches exist (a bit per timeframe). */
interface PairKeys {
  groupKeys: string[];
  /** Per timeframe: cstate and historical keys. */
  cacheKeys: (readonly [string, string])[];
  channel: string;
  pairJson: string;
  cached: number;
}

/** Redis side of the tick path: the atomic ingest script and the reads of recent ticks. */
export class TickStore {
  private readonly dedupWindowMs: number;
  private readonly dedupCap: number;
  /** ARGV of the ingest script before the group count (see ingest.lua). */
  private readonly headerArgs: string[];
  private readonly keyCache = new Map<string, PairKeys>();

  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
    private readonly options: TickStoreOptions,
  ) {
    this.dedupWindowMs = options.dedupWindowMs ?? 3_600_000;
    this.dedupCap = options.dedupCap ?? 200_000;
    this.headerArgs = [
      String(options.tickBufferSize),
      String(this.dedupWindowMs),
      String(this.dedupCap),
      String(CANDLE_DELTA_CAP),
      String(options.candleCacheSize),
      String(TIMEFRAMES.length),
      ...TIMEFRAMES.map((tf) => String(timeframeSeconds(tf))),
    ];
  }

  /** The keys a pair's group passes to the ingest script (names are built once per pair). */
  private pairKeys(pair: string): PairKeys {
    let entry = this.keyCache.get(pair);
    if (!entry) {
      if (this.keyCache.size >= 10_000) this.keyCache.clear(); // bounded: pairs are few in practice
      entry = {
        groupKeys: [this.keys.ticks(pair), this.keys.seq(pair), this.keys.seen(pair), this.keys.candleDelta(pair), this.keys.candleTail(pair)],
        cacheKeys: TIMEFRAMES.map((tf) => [this.keys.candleState(pair, tf), this.keys.historical(pair, tf)] as const),
        channel: this.keys.updates(pair),
        pairJson: JSON.stringify(pair),
        // Not known yet: pass every timeframe once, the reply tells which caches exist.
        cached: ALL_TIMEFRAMES,
      };
      this.keyCache.set(pair, entry);
    }
    return entry;
  }

  /** Creates the persist queue and its consumer group when missing; drops candle caches of an older layout. */
  async init(): Promise<void> {
    try {
      await this.redis.xGroupCreate(this.keys.persistQueue(), PERSIST_GROUP, '0', { MKSTREAM: true });
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    await new CandleStore(this.redis, this.keys).dropLegacy(await this.redis.sMembers(this.keys.pairs()));
  }

  /**
   * Stores ticks in one round trip: dedup, seq, recent list, pub/sub, persist queue.
   * Returns each tick's seq in input order, 0 for a duplicate. Safe to retry: a tick stored by an
   * attempt whose reply was lost comes back as a duplicate.
   */
  async write(ticks: readonly Tick[]): Promise<number[]> {
    const groups = new Map<string, number[]>();
    ticks.forEach((t, i) => {
      const g = groups.get(t.pair);
      if (g) g.push(i);
      else groups.set(t.pair, [i]);
    });
    const names = [...groups.keys()];
    const pairs = names.map((pair) => this.pairKeys(pair));
    const tickArgs: string[][] = [];
    const order: number[] = [];
    [...groups.values()].forEach((idx, g) => {
      const a: string[] = [String(idx.length)];
      for (const i of idx) {
        const t = ticks[i]!;
        a.push(tickIdentity(t), String(t.timestamp), String(t.price), tickJsonPrefix(t, pairs[g]!.pairJson));
        order.push(i);
      }
      tickArgs.push(a);
    });
    // Only the keys of the caches that exist go along. Which ones exist is learnt from the replies;
    // a cache filled since (by any process) makes the script send the batch back unwritten.
    for (let attempt = 1; ; attempt++) {
      const masks = pairs.map((p) => (attempt < MASK_ATTEMPTS ? p.cached : ALL_TIMEFRAMES));
      const keys = [this.keys.persistQueue(), this.keys.pairs(), this.keys.persistQueueTicks()];
      const args = [...this.headerArgs, String(pairs.length)];
      pairs.forEach((p, g) => {
        for (const k of p.groupKeys) keys.push(k);
        const passed: string[] = [];
        p.cacheKeys.forEach(([state, view], f) => {
          if (masks[g]! & (1 << f)) {
            keys.push(state, view);
            passed.push(String(f + 1));
          }
        });
        args.push(p.channel, names[g]!, String(passed.length), ...passed);
        for (const x of tickArgs[g]!) args.push(x);
      });
      const reply = (await INGEST.run(this.redis, keys, args)) as number[];
      const retry = Number(reply[0]) === -1;
      const cached = retry ? reply.slice(1) : reply.slice(ticks.length);
      pairs.forEach((p, g) => (p.cached = Number(cached[g])));
      if (retry && attempt >= MASK_ATTEMPTS) throw new Error('ingest script: asked again for candle cache keys although it was given every one');
      if (retry) continue;
      const seqs = new Array<number>(ticks.length);
      order.forEach((i, k) => (seqs[i] = Number(reply[k])));
      return seqs;
    }
  }

  /** The newest `limit` ticks of a pair, oldest first. */
  async recent(pair: string, limit: number): Promise<SeqTick[]> {
    const raw = await this.redis.lRange(this.keys.ticks(pair), 0, limit - 1);
    return raw.reverse().map((s) => JSON.parse(s) as SeqTick);
  }

  /** Recent ticks and the current seq, read atomically so a follower can continue from `seq`. */
  async snapshot(pair: string, limit: number): Promise<Snapshot> {
    const [raw, seq] = (await this.redis
      .multi()
      .lRange(this.keys.ticks(pair), 0, limit - 1)
      .get(this.keys.seq(pair))
      .exec()) as unknown as [string[], string | null];
    return { ticks: raw.reverse().map((s) => JSON.parse(s) as SeqTick), seq: Number(seq ?? 0) };
  }

  /** The latest tick of each pair (in the order given), leaving out pairs with no recent tick. */
  async latest(pairs: readonly string[]): Promise<{ pair: string; tick: SeqTick }[]> {
    if (pairs.length === 0) return [];
    const multi = this.redis.multi();
    for (const p of pairs) multi.lIndex(this.keys.ticks(p), 0);
    const latest = (await multi.exec()) as unknown as (string | null)[];
    const out: { pair: string; tick: SeqTick }[] = [];
    latest.forEach((s, i) => {
      if (s !== null) out.push({ pair: pairs[i]!, tick: JSON.parse(s) as SeqTick });
    });
    return out;
  }
}
