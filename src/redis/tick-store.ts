import calculateSlot from 'cluster-key-slot';
import { UnavailableError } from '../core/errors.js';
import { tickIdentity } from '../core/identity.js';
import type { SeqTick, Tick } from '../core/tick.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { TIMEFRAMES, timeframeSeconds } from '../core/timeframe.js';
import { CANDLE_DELTA_CAP, CandleStore } from './candle-store.js';
import { sendRaw, type RedisClient } from './connection.js';
import { ensurePersistGroups } from './persist-queue.js';

const INGEST = new LuaScript('candle-lib.lua', 'ingest.lua');
const PUBLISH_CONFIRMED = new LuaScript('publish.lua');
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
  /** REDIS_WAIT_REPLICAS: a write counts only once WAIT says this many replicas have it (0: no wait). */
  waitReplicas?: number;
  /** How long WAIT may take before the write is refused (ms). */
  waitTimeoutMs?: number;
  /** Called with the pairs of every write that went to their outboxes (cluster): the outbox move. */
  onOutboxed?: (pairs: readonly string[]) => void;
}

/** Ingest script flags (see ingest.lua). */
const PUBLISH = 1;
const SPUBLISH = 2;

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
  /** The pair's slot on a cluster (0 on one node). */
  slot: number;
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
  /** Whether this process publishes each tick itself, after WAIT, instead of the script. */
  private readonly publishAfter: boolean;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
    private readonly options: TickStoreOptions,
  ) {
    this.dedupWindowMs = options.dedupWindowMs ?? 3_600_000;
    this.dedupCap = options.dedupCap ?? 200_000;
    this.waitReplicas = options.waitReplicas ?? 0;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 1000;
    // Subscribers see only acknowledged ticks: with WAIT the publish follows it.
    this.publishAfter = this.waitReplicas > 0;
    const flags = this.publishAfter ? 0 : keys.cluster ? SPUBLISH : PUBLISH;
    this.headerArgs = [
      String(options.tickBufferSize),
      String(this.dedupWindowMs),
      String(this.dedupCap),
      String(CANDLE_DELTA_CAP),
      String(options.candleCacheSize),
      String(flags),
      String(TIMEFRAMES.length),
      ...TIMEFRAMES.map((tf) => String(timeframeSeconds(tf))),
    ];
  }

  /** The keys a pair's group passes to the ingest script (names are built once per pair). */
  private pairKeys(pair: string): PairKeys {
    let entry = this.keyCache.get(pair);
    if (!entry) {
      if (this.keyCache.size >= 10_000) this.keyCache.clear(); // bounded: pairs are few in practice
      const k = this.keys;
      entry = {
        groupKeys: [k.ticks(pair), k.seq(pair), k.seen(pair), k.candleDelta(pair), k.candleTail(pair), k.ingestQueue(pair), k.unstoredCount(pair)],
        slot: k.cluster ? calculateSlot(k.ticks(pair)) : 0,
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

  /** Creates the persist queues and their consumer group when missing; drops candle caches of an older layout. */
  async init(): Promise<void> {
    await ensurePersistGroups(this.redis, this.keys);
    // A cluster never held the older layout.
    if (!this.keys.cluster) await new CandleStore(this.redis, this.keys).dropLegacy(await this.redis.sMembers(this.keys.pairs()));
  }

  /**
   * Stores ticks: dedup, seq, recent list, pub/sub, persist queue, in one script call (on a
   * cluster, one per slot, in parallel). With REDIS_WAIT_REPLICAS the call counts only once WAIT
   * confirms it, and the ticks are published after that. Returns each tick's seq in input order,
   * 0 for a duplicate. Safe to retry: a tick stored by an attempt whose reply was lost (or whose
   * WAIT fell short) comes back as a duplicate.
   */
  async write(ticks: readonly Tick[]): Promise<number[]> {
    const groups = new Map<string, number[]>();
    ticks.forEach((t, i) => {
      const g = groups.get(t.pair);
      if (g) g.push(i);
      else groups.set(t.pair, [i]);
    });
    const seqs = new Array<number>(ticks.length);
    if (!this.keys.cluster) {
      await this.writeCall(ticks, [...groups], seqs);
    } else {
      const bySlot = new Map<number, [string, number[]][]>();
      for (const g of groups) {
        const slot = this.pairKeys(g[0]).slot;
        const list = bySlot.get(slot);
        if (list) list.push(g);
        else bySlot.set(slot, [g]);
      }
      await Promise.all([...bySlot.values()].map((list) => this.writeCall(ticks, list, seqs)));
      this.options.onOutboxed?.([...groups.keys()]);
    }
    return seqs;
  }

  /** One ingest script call for groups of one slot; fills in `seqs` for their ticks. */
  private async writeCall(ticks: readonly Tick[], groups: [string, number[]][], seqs: number[]): Promise<void> {
    const names = groups.map(([pair]) => pair);
    const pairs = names.map((pair) => this.pairKeys(pair));
    const tickArgs: string[][] = [];
    const order: number[] = [];
    groups.forEach(([, idx], g) => {
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
      const keys: string[] = [];
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
      const cached = retry ? reply.slice(1) : reply.slice(order.length);
      pairs.forEach((p, g) => (p.cached = Number(cached[g])));
      if (retry && attempt >= MASK_ATTEMPTS) throw new Error('ingest script: asked again for candle cache keys although it was given every one');
      if (retry) continue;
      order.forEach((i, k) => (seqs[i] = Number(reply[k])));
      if (this.waitReplicas > 0) await this.waitForReplicas(keys[0]!);
      if (this.publishAfter) await this.publish(ticks, order, seqs, pairs, names, keys[0]!);
      return;
    }
  }

  /** WAIT on the master that ran the write (on a cluster, the slot's): refuses the write when too few replicas confirm it. */
  private async waitForReplicas(firstKey: string): Promise<void> {
    const reached = Number(await sendRaw(this.redis, firstKey, ['WAIT', String(this.waitReplicas), String(this.waitTimeoutMs)]));
    if (reached < this.waitReplicas) {
      throw new UnavailableError(
        `Redis confirmed the write on ${reached} of ${this.waitReplicas} replicas (REDIS_WAIT_REPLICAS) within ${this.waitTimeoutMs} ms; ` +
          'the ticks are not acknowledged: send them again (repeats are recognised)',
      );
    }
  }

  /** Publishes the fresh ticks of a confirmed write, in seq order per pair, in one script call. */
  private async publish(ticks: readonly Tick[], order: number[], seqs: number[], pairs: PairKeys[], names: string[], firstKey: string): Promise<void> {
    const perGroup: string[][] = pairs.map(() => []);
    const groupOf = new Map(names.map((n, g) => [n, g]));
    for (const i of order) {
      const seq = seqs[i]!;
      if (seq === 0) continue;
      const t = ticks[i]!;
      const g = groupOf.get(t.pair)!;
      perGroup[g]!.push(`${tickJsonPrefix(t, pairs[g]!.pairJson)},"seq":${seq}}`);
    }
    const args = [this.keys.cluster ? 'SPUBLISH' : 'PUBLISH'];
    perGroup.forEach((messages, g) => {
      if (messages.length > 0) args.push(pairs[g]!.channel, String(messages.length), ...messages);
    });
    if (args.length > 1) await PUBLISH_CONFIRMED.run(this.redis, [firstKey], args);
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
    // One command per pair (pipelined on one link): the pairs' keys lie in different slots on a cluster.
    const latest = await Promise.all(pairs.map((p) => this.redis.lIndex(this.keys.ticks(p), 0)));
    const out: { pair: string; tick: SeqTick }[] = [];
    latest.forEach((s, i) => {
      if (s !== null) out.push({ pair: pairs[i]!, tick: JSON.parse(s) as SeqTick });
    });
    return out;
  }
}
