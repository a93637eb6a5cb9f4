import { decodeCandleState, encodeCandleState, type Candle, type CandleState, type CandleTick } from '../core/candle.js';
import { tickIdentity } from '../core/identity.js';
import { TIMEFRAMES, timeframeSeconds, type Timeframe } from '../core/timeframe.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { parseQueueEntry } from './persist-queue.js';

const FILL = new LuaScript('candle-lib.lua', 'candle-fill.lua');
const STATES = new LuaScript('candle-lib.lua', 'candle-states.lua');
const DROP = new LuaScript('candle-lib.lua', 'candle-drop.lua');
const PENDING = new LuaScript('candle-pending.lua');
const VIEW = new LuaScript('candle-lib.lua', 'candle-view.lua');
const CHECK = new LuaScript('candle-lib.lua', 'candle-check.lua');
/** candle-fill.lua's answer when the pair's other caches are stale (dropped, then called again). */
const FILL_STALE = -2;

/** How far back a candle cache fill can catch up with ticks accepted while it read the database (cdelta:<SYM>). */
export const CANDLE_DELTA_CAP = 20_000;

/** How the candle scripts name a timeframe: its 1-based index in TIMEFRAMES. */
const tfIndex = (tf: Timeframe) => String(TIMEFRAMES.indexOf(tf) + 1);

/** The field that marked a cache state before the candle tail (see dropLegacy). */
const LEGACY_MARK = '_';

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
    const raw = await VIEW.run(this.redis, [this.keys.historical(pair, tf), this.keys.candleTail(pair), this.keys.seq(pair)], []);
    return typeof raw === 'string' ? (JSON.parse(raw) as Candle[]) : null;
  }

  /**
   * Drops the pair's caches when they are older than its ticks, as after Redis restarted from its
   * append-only file (which holds the ticks but not the cache writes, see candle-lib.lua).
   * Returns keys deleted.
   */
  async dropStale(pair: string): Promise<number> {
    const keys = [this.keys.candleTail(pair), this.keys.seq(pair)];
    for (const tf of TIMEFRAMES) keys.push(this.keys.candleState(pair, tf), this.keys.historical(pair, tf));
    return Number(await CHECK.run(this.redis, keys, []));
  }

  /**
   * The pair's seq and history generation, and its ticks that may not be stored yet: together
   * with the database (minus those it already has) they are every tick accepted up to that seq.
   * Usually read from the pair's cdelta list; during a long backlog, by scanning the queue in chunks.
   */
  async unpersisted(pair: string): Promise<FillPoint & { ticks: CandleTick[] }> {
    const keys = [this.keys.seq(pair), this.keys.candleGeneration(pair), this.keys.unstoredCount(pair), this.keys.candleDelta(pair)];
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

  /** The pair's ticks waiting for the persister up to `maxSeq` (on a cluster in its outbox or its persist stream), read in chunks so Redis never stalls. */
  private async scanQueue(pair: string, maxSeq: number): Promise<CandleTick[]> {
    const queues = new Set([this.keys.ingestQueue(pair), this.keys.persistQueueOf(pair)]);
    const found = await Promise.all([...queues].map((q) => this.scanOne(q, pair, maxSeq)));
    // An entry caught in the middle of its move is in both: once each.
    const seen = new Set<string>();
    return found.flat().filter((t) => !seen.has(t.key) && seen.add(t.key));
  }

  private async scanOne(queue: string, pair: string, maxSeq: number): Promise<CandleTick[]> {
    const marker = `"pair":${JSON.stringify(pair)}`;
    const ticks: CandleTick[] = [];
    let from = '-';
    for (;;) {
      const chunk = (await this.redis.xRange(queue, from, '+', { COUNT: 5000 })) ?? [];
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
    const args = [String(at.seq), String(ttlS), String(cacheSize), String(timeframeSeconds(tf)), at.generation, tfIndex(tf)];
    for (const s of states) args.push(String(s.time), encodeCandleState(s));
    const keys = [
      this.keys.candleState(pair, tf),
      this.keys.historical(pair, tf),
      this.keys.seq(pair),
      this.keys.candleDelta(pair),
      this.keys.candleGeneration(pair),
      this.keys.candleTail(pair),
    ];
    let answer = Number(await FILL.run(this.redis, keys, args));
    if (answer === FILL_STALE) {
      await this.dropStale(pair);
      answer = Number(await FILL.run(this.redis, keys, args));
    }
    return answer >= 0;
  }

  /** Current states of some buckets of a cached pair/timeframe (the forming one too); missing buckets are left out. */
  async readStates(pair: string, tf: Timeframe, times: number[]): Promise<CandleState[]> {
    if (times.length === 0) return [];
    const keys = [this.keys.candleState(pair, tf), this.keys.historical(pair, tf), this.keys.candleTail(pair), this.keys.seq(pair)];
    const raw = (await STATES.run(this.redis, keys, [tfIndex(tf), ...times.map(String)])) as (string | null)[];
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
    const keys = [this.keys.candleGeneration(pair), this.keys.candleTail(pair)];
    for (const tf of tfs) keys.push(this.keys.candleState(pair, tf), this.keys.historical(pair, tf));
    return Number(await DROP.run(this.redis, keys, tfs.map(tfIndex)));
  }

  /**
   * Deletes caches left by a QuFLX before the candle tail (their cstate holds the forming bucket
   * and a `_` mark, and nothing would keep their view current now). Returns keys deleted.
   */
  async dropLegacy(pairs: readonly string[]): Promise<number> {
    if (pairs.length === 0) return 0;
    const multi = this.redis.multi();
    const candidates: [string, string][] = [];
    for (const pair of pairs) {
      for (const tf of TIMEFRAMES) {
        multi.hExists(this.keys.candleState(pair, tf), LEGACY_MARK);
        candidates.push([this.keys.candleState(pair, tf), this.keys.historical(pair, tf)]);
      }
    }
    const marked = (await multi.exec()) as unknown as (number | boolean)[];
    const stale = candidates.filter((_, i) => Number(marked[i]) === 1).flat();
    return stale.length === 0 ? 0 : this.redis.del(stale);
  }
}
