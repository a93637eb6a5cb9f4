import { decodeCandleState, encodeCandleState, type Candle, type CandleState, type CandleTick } from '../core/candle.js';
import { tickIdentity } from '../core/identity.js';
import type { SeqTick } from '../core/tick.js';
import { timeframeSeconds, type Timeframe } from '../core/timeframe.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

const FILL = new LuaScript('candle-lib.lua', 'candle-fill.lua');

/** Where a cache fill read its data: the pair's seq and history generation. */
export interface FillPoint {
  seq: number;
  generation: string;
}

/** Redis side of the candle cache: the contract view, its state hash, and what is not yet in the database. */
export class CandleStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** The cached candles, oldest first, or null on a miss (never filled, or expired). */
  async readView(pair: string, tf: Timeframe): Promise<Candle[] | null> {
    const raw = await this.redis.get(this.keys.historical(pair, tf));
    return raw === null ? null : (JSON.parse(raw) as Candle[]);
  }

  /**
   * The pair's seq and its ticks still waiting in the persist queue, read atomically: together
   * with the database (minus these) they are every tick accepted up to that seq.
   */
  async unpersisted(pair: string): Promise<FillPoint & { ticks: CandleTick[] }> {
    const [seq, generation, entries] = (await this.redis
      .multi()
      .get(this.keys.seq(pair))
      .get(this.keys.candleGeneration(pair))
      .xRange(this.keys.persistQueue(), '-', '+')
      .exec()) as unknown as [string | null, string | null, { message: { t?: string } }[] | null];
    const marker = `"pair":${JSON.stringify(pair)}`;
    const ticks: CandleTick[] = [];
    for (const e of entries ?? []) {
      const raw = e.message.t;
      if (!raw || !raw.includes(marker)) continue; // cheap filter before parsing
      try {
        const t = JSON.parse(raw) as SeqTick;
        if (t.pair === pair) ticks.push({ price: t.price, timestamp: t.timestamp, key: tickIdentity(t) });
      } catch {
        /* unreadable entries go to rejected_ticks via the persister */
      }
    }
    return { seq: Number(seq ?? 0), generation: generation ?? '0', ticks };
  }

  /**
   * Installs candle states read at `seq` as the cache, caught up atomically with ticks accepted
   * since. Returns false when too many arrived meanwhile (the caller reads again).
   */
  async fill(pair: string, tf: Timeframe, at: FillPoint, states: CandleState[], ttlS: number, cacheSize: number): Promise<boolean> {
    const args = [String(at.seq), String(ttlS), String(cacheSize), String(timeframeSeconds(tf)), at.generation];
    for (const s of states) args.push(String(s.time), encodeCandleState(s));
    const keys = [
      this.keys.candleState(pair, tf),
      this.keys.historical(pair, tf),
      this.keys.seq(pair),
      this.keys.candleDelta(pair),
      this.keys.candleGeneration(pair),
    ];
    return Number(await FILL.run(this.redis, keys, args)) >= 0;
  }

  /** Current states of some buckets of a cached pair/timeframe; missing buckets are left out. */
  async readStates(pair: string, tf: Timeframe, times: number[]): Promise<CandleState[]> {
    if (times.length === 0) return [];
    const raw = await this.redis.hmGet(this.keys.candleState(pair, tf), times.map(String));
    const out: CandleState[] = [];
    raw.forEach((s, i) => {
      if (s) out.push(decodeCandleState(times[i]!, s));
    });
    return out;
  }

  /**
   * Drops a pair's candle caches after its history was rewritten (an import), and voids any fill
   * that read the database before: the next read rebuilds from the database. Returns keys deleted.
   */
  async invalidate(pair: string, tfs: readonly Timeframe[]): Promise<number> {
    const [, deleted] = (await this.redis
      .multi()
      .incr(this.keys.candleGeneration(pair))
      .del(tfs.flatMap((tf) => [this.keys.candleState(pair, tf), this.keys.historical(pair, tf)]))
      .exec()) as unknown as [number, number];
    return Number(deleted);
  }
}
