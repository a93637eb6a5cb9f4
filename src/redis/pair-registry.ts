import { ValidationError, type FieldIssue } from '../core/errors.js';
import { toSymbol } from '../core/pair.js';
import type { Tick } from '../core/tick.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

const REGISTER = new LuaScript('pair-register.lua');

/** 'all': every new pair of the call or none (a request taken whole); 'some': as many as fit, in order (a feed). */
export type RegisterMode = 'all' | 'some';

export interface PairRegistryOptions {
  /** MAX_PAIRS: most symbols ever registered. */
  maxPairs: number;
  /** How long a new symbol waits at start for the registry to be seeded from the database. */
  seedWaitMs?: number;
}

export interface Canonicalized {
  /** The ticks that may be stored, each under its canonical pair, in input order. */
  ticks: Tick[];
  /** Input indexes of ticks left out: their pair would be new past MAX_PAIRS. */
  refused: number[];
}

/** New pairs past MAX_PAIRS in a request that is taken whole or not at all (HTTP: 400). */
export class PairLimitError extends ValidationError {
  constructor(maxPairs: number, details: FieldIssue[], total: number) {
    const bad = new Set(details.map((d) => d.index)).size;
    super(`${bad} of ${total} tick(s) would add pairs past MAX_PAIRS (${maxPairs}); nothing was stored`, details.slice(0, 100));
    this.name = 'PairLimitError';
  }
}

/**
 * One instrument per symbol. Pair spellings that share a symbol (`EUR/USD_otc`, `EURUSD_otc`)
 * share its Redis keys and channel, so they must be one instrument: the first spelling seen is
 * canonical, and later spellings are stored and served under it. The names live in a Redis hash
 * (SYM -> canonical pair, set once with HSETNX, at most MAX_PAIRS symbols), cached here; the cache
 * is bounded. Without Redis (the CLI when Redis is down) the registry is this process's alone.
 *
 * Reads (`resolve`) never write: a pair nobody sent is unknown and has no data.
 */
export class PairRegistry {
  /** SYM -> canonical pair. */
  private readonly bySymbol = new Map<string, string>();
  /** Spelling -> canonical pair: the hot path skips computing the symbol. */
  private readonly bySpelling = new Map<string, string>();
  private readonly cacheCap: number;
  private seeding: Promise<unknown> | null = null;
  private seedDeadline = 0;

  constructor(
    private readonly redis: RedisClient | null,
    private readonly keys: RedisKeys,
    private readonly options: PairRegistryOptions,
  ) {
    this.cacheCap = Math.max(2 * options.maxPairs, 1000);
  }

  get maxPairs(): number {
    return this.options.maxPairs;
  }

  /**
   * Registers the database's pairs (one spelling per symbol), so the names survive Redis losing
   * its data. New symbols wait for it (up to `seedWaitMs`), so a stored spelling wins over a new one.
   */
  seedFrom(load: () => Promise<readonly string[]>): Promise<void> {
    this.seedDeadline = Date.now() + (this.options.seedWaitMs ?? 5000);
    const seeding = (async () => {
      const pairs = await load();
      if (pairs.length > 0) await this.register(pairs, 'some', false);
    })();
    this.seeding = seeding;
    const done = () => {
      if (this.seeding === seeding) this.seeding = null;
    };
    seeding.then(done, done);
    return seeding;
  }

  /** The canonical name of `pair`, or null when no tick of its symbol was ever accepted. Reads only. */
  async resolve(pair: string): Promise<string | null> {
    const hit = this.bySpelling.get(pair);
    if (hit !== undefined) return hit;
    const sym = toSymbol(pair);
    let name = this.bySymbol.get(sym) ?? null;
    if (name === null && this.redis) name = (await this.redis.hGet(this.keys.instruments(), sym)) ?? null;
    if (name !== null) this.remember(pair, sym, name);
    return name;
  }

  /** Every registered pair's canonical name, sorted. */
  async all(): Promise<string[]> {
    if (!this.redis) return [...this.bySymbol.values()].sort();
    const entries = await this.redis.hGetAll(this.keys.instruments());
    const names = Object.entries(entries).map(([sym, name]) => {
      this.remember(name, sym, name);
      return name;
    });
    return names.sort();
  }

  /** The ticks under their canonical pairs when every pair's symbol is cached (no I/O), else null. */
  named(ticks: readonly Tick[]): readonly Tick[] | null {
    let out: Tick[] | null = null;
    for (let i = 0; i < ticks.length; i++) {
      const t = ticks[i]!;
      let name = this.bySpelling.get(t.pair);
      if (name === undefined) {
        // A new spelling of a known symbol: remembered, so the next one is a plain lookup.
        const sym = toSymbol(t.pair);
        name = this.bySymbol.get(sym);
        if (name === undefined) return null;
        this.remember(t.pair, sym, name);
      }
      if (name !== t.pair) (out ??= ticks.slice())[i] = { ...t, pair: name };
    }
    return out ?? ticks;
  }

  /**
   * The ticks under their canonical pairs, registering the symbols not seen before (the first
   * spelling in `ticks` wins). Ticks whose pair would pass MAX_PAIRS are left out and listed.
   */
  async canonicalize(ticks: readonly Tick[], mode: RegisterMode): Promise<Canonicalized> {
    const fast = this.named(ticks);
    if (fast) return { ticks: fast.slice(), refused: [] };
    const unknown: string[] = [];
    const seen = new Set<string>();
    for (const t of ticks) {
      if (!this.bySpelling.has(t.pair) && !seen.has(t.pair)) {
        seen.add(t.pair);
        unknown.push(t.pair);
      }
    }
    const names = new Map<string, string | null>();
    const got = await this.register(unknown, mode);
    unknown.forEach((p, i) => names.set(p, got[i]!));
    const out: Tick[] = [];
    const refused: number[] = [];
    ticks.forEach((t, i) => {
      const name = this.bySpelling.get(t.pair) ?? names.get(t.pair) ?? null;
      if (name === null) refused.push(i);
      else out.push(name === t.pair ? t : { ...t, pair: name });
    });
    return { ticks: out, refused };
  }

  /** Like canonicalize in 'all' mode, but throws PairLimitError naming each tick past MAX_PAIRS. */
  async canonicalizeAll(ticks: readonly Tick[]): Promise<readonly Tick[]> {
    const fast = this.named(ticks);
    if (fast) return fast;
    const { ticks: out, refused } = await this.canonicalize(ticks, 'all');
    if (refused.length === 0) return out;
    const details = refused.map((index) => ({
      index,
      field: 'pair',
      message: `${JSON.stringify(ticks[index]!.pair)} would be a new pair past MAX_PAIRS (${this.options.maxPairs} pairs)`,
    }));
    throw new PairLimitError(this.options.maxPairs, details, ticks.length);
  }

  /**
   * Canonical names for `pairs` (in order), registering new symbols: null for a pair whose symbol
   * is new and did not fit under MAX_PAIRS. Spellings of one symbol in one call: the first wins.
   */
  async register(pairs: readonly string[], mode: RegisterMode, waitForSeed = true): Promise<(string | null)[]> {
    if (waitForSeed && this.seeding && Date.now() < this.seedDeadline) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, this.seedDeadline - Date.now()))));
      await Promise.race([this.seeding.catch(() => undefined), late]);
      clearTimeout(timer);
    }
    const bySym = new Map<string, string>();
    for (const p of pairs) {
      const sym = toSymbol(p);
      if (!bySym.has(sym)) bySym.set(sym, p);
    }
    const syms = [...bySym.keys()];
    let names: string[];
    if (this.redis) {
      const args = [String(this.options.maxPairs), mode];
      for (const [sym, p] of bySym) args.push(sym, p);
      names = (await REGISTER.run(this.redis, [this.keys.instruments()], args)) as string[];
    } else {
      names = this.registerLocally(bySym, mode);
    }
    const canonical = new Map<string, string | null>();
    syms.forEach((sym, i) => {
      const name = names[i] || null;
      canonical.set(sym, name);
      if (name !== null) this.remember(name, sym, name);
    });
    return pairs.map((p) => {
      const sym = toSymbol(p);
      const name = canonical.get(sym) ?? null;
      if (name !== null) this.remember(p, sym, name);
      return name;
    });
  }

  /**
   * Writes the names this process knows back to Redis (HSETNX): after Redis lost its data, the
   * spellings in use stay canonical.
   */
  async restore(): Promise<void> {
    if (this.bySymbol.size > 0) await this.register([...this.bySymbol.values()], 'some', false);
  }

  private registerLocally(bySym: Map<string, string>, mode: RegisterMode): string[] {
    const fresh = [...bySym.keys()].filter((s) => !this.bySymbol.has(s));
    const fits = this.bySymbol.size + fresh.length <= this.options.maxPairs;
    let count = this.bySymbol.size;
    return [...bySym].map(([sym, p]) => {
      const known = this.bySymbol.get(sym);
      if (known !== undefined) return known;
      if ((mode === 'all' && !fits) || count >= this.options.maxPairs) return '';
      count++;
      this.bySymbol.set(sym, p);
      return p;
    });
  }

  private remember(spelling: string, sym: string, name: string): void {
    if (this.bySymbol.size >= this.cacheCap) this.bySymbol.clear();
    if (this.bySpelling.size >= this.cacheCap) this.bySpelling.clear();
    this.bySymbol.set(sym, name);
    this.bySpelling.set(spelling, name);
  }
}
