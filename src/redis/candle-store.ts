import { decodeCandleState, encodeCandleState, type Candle, type CandleState, type CandleTick } from '../core/candle.js';
import { tickIdentity } from '../core/identity.js';
import { timeframeSeconds, type Timeframe } from '../core/timeframe.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { parseQueueEntry } from './persist-queue.js';
import { CANDLE_DELTA_CAP } from './tick-store.js';

const FILL = new LuaScript('candle-lib.lua', 'candle-fill.lua');
const PENDING = new LuaScript('candle-pending.lua');

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
   * The pair's seq and history generation, and its ticks that may not be stored yet: together
   * with the database (minus those it already has) they are every tick accepted up to that seq.
   * Usually read from the pair's cdelta list; during a long backlog, by scanning the queue in chunks.
   */
  async unpersisted(pair: string): Promise<FillPoint & { ticks: CandleTick[] }> {
    const keys = [this.keys.seq(pair), this.keys.candleGeneration(pair), this.keys.persistQueueTicks(), this.keys.candleDelta(pair)];
    const [seq, generation, covered, ...entries] = (await PENDING.run(this.redis, keys, [String(CANDLE_DELTA_CAP)])) as [
      string,
      string,
      number,
      ...string[],
    ];
    const at = { seq: Number(seq), generation };
    if (Number(covered) === 1) {
      return {
        ...at,
        ticks: entries.map((e) => {
          const [, ts, price, key] = e.split('\u001f');
          return { timestamp: Number(ts), price: Number(price), key: key ?? '' };
        }),
      };
    }
    return { ...at, ticks: await this.scanQueue(pair, at.seq) };
  }

  /** The pair's ticks in the persist queue up to `maxSeq`, read in chunks so Redis never stalls. */
  private async scanQueue(pair: string, maxSeq: number): Promise<CandleTick[]> {
    const marker = `"pair":${JSON.stringify(pair)}`;
    const ticks: CandleTick[] = [];
    let from = '-';
    for (;;) {
      const chunk = (await this.redis.xRange(this.keys.persistQueue(), from, '+', { COUNT: 5000 })) ?? [];
      for (const e of chunk) {
        const raw = (e.message as { t?: string }).t;
        if (!raw || !raw.includes(marker)) continue; // cheap filter before parsing
        for (const t of parseQueueEntry(raw) ?? []) {
          if (t.pair === pair && t.seq <= maxSeq) ticks.push({ price: t.price, timestamp: t.timestamp, key: tickIdentity(t) });
        }
      }
      if (chunk.length < 5000) return ticks;
      from = `(${chunk.at(-1)!.id}`;
    }
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
