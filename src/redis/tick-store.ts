import { tickIdentity } from '../core/identity.js';
import type { SeqTick, Tick } from '../core/tick.js';
import { PERSIST_GROUP, type RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { TIMEFRAMES, timeframeSeconds } from '../core/timeframe.js';
import type { RedisClient } from './connection.js';

const INGEST = new LuaScript('candle-lib.lua', 'ingest.lua');
/** How far back a candle cache fill can catch up with ticks accepted while it read the database. */
export const CANDLE_DELTA_CAP = 20_000;

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

/** The tick JSON sent on every channel; Lua appends `,"seq":N}` to it. */
function tickJsonPrefix(t: Tick): string {
  const json =
    t.id === undefined
      ? JSON.stringify({ pair: t.pair, price: t.price, timestamp: t.timestamp })
      : JSON.stringify({ pair: t.pair, price: t.price, timestamp: t.timestamp, id: t.id });
  return json.slice(0, -1);
}

/** Redis side of the tick path: the atomic ingest script and the reads of recent ticks. */
export class TickStore {
  private readonly dedupWindowMs: number;
  private readonly dedupCap: number;
  /** ARGV of the ingest script before the group count (see ingest.lua). */
  private readonly headerArgs: string[];
  private readonly keyCache = new Map<string, { groupKeys: string[]; channel: string }>();

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
  private pairKeys(pair: string): { groupKeys: string[]; channel: string } {
    let entry = this.keyCache.get(pair);
    if (!entry) {
      if (this.keyCache.size >= 10_000) this.keyCache.clear(); // bounded: pairs are few in practice
      const groupKeys = [this.keys.ticks(pair), this.keys.seq(pair), this.keys.seen(pair), this.keys.candleDelta(pair)];
      for (const tf of TIMEFRAMES) groupKeys.push(this.keys.candleState(pair, tf), this.keys.historical(pair, tf));
      entry = { groupKeys, channel: this.keys.updates(pair) };
      this.keyCache.set(pair, entry);
    }
    return entry;
  }

  /** Creates the persist queue and its consumer group when missing. */
  async init(): Promise<void> {
    try {
      await this.redis.xGroupCreate(this.keys.persistQueue(), PERSIST_GROUP, '0', { MKSTREAM: true });
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
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
    const keys = [this.keys.persistQueue(), this.keys.pairs(), this.keys.persistQueueTicks()];
    const args = [...this.headerArgs, String(groups.size)];
    const order: number[] = [];
    for (const [pair, idx] of groups) {
      const { groupKeys, channel } = this.pairKeys(pair);
      for (const k of groupKeys) keys.push(k);
      args.push(channel, pair, String(idx.length));
      for (const i of idx) {
        const t = ticks[i]!;
        args.push(tickIdentity(t), String(t.timestamp), String(t.price), tickJsonPrefix(t));
        order.push(i);
      }
    }
    const reply = (await INGEST.run(this.redis, keys, args)) as number[];
    const seqs = new Array<number>(ticks.length);
    order.forEach((i, k) => (seqs[i] = Number(reply[k])));
    return seqs;
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
