import type { Tick } from './tick.js';

export interface FeedHealthOptions {
  /** A pair is stale when silent for this many of its usual gaps... */
  staleFactor: number;
  /** ...and never sooner than this (ms). */
  minStaleMs: number;
  /** Gaps seen before a pair's usual gap is trusted (until then it is never stale). */
  warmupGaps: number;
  /** A move over this many of the pair's typical moves is a suspect jump... */
  jumpFactor: number;
  /** ...where the typical move is at least this fraction of the price (flat markets). */
  minMoveRel: number;
  /** Moves seen before the typical move is trusted (until then no tick is suspect). */
  warmupMoves: number;
  /** Weight of the newest gap or move in the running averages. */
  alpha: number;
  /** A pair stays flagged suspect this long after its last suspect tick (ms). */
  suspectHoldMs: number;
  /** Most pairs followed; the one heard from longest ago is forgotten first. */
  maxPairs: number;
}

export const DEFAULT_FEED_HEALTH: FeedHealthOptions = {
  staleFactor: 10,
  minStaleMs: 5000,
  warmupGaps: 5,
  jumpFactor: 25,
  minMoveRel: 2e-5,
  warmupMoves: 20,
  alpha: 0.05,
  suspectHoldMs: 60_000,
  maxPairs: 10_000,
};

export interface SuspectTick {
  price: number;
  /** The price before the jump. */
  previous: number;
  timestamp: number;
}

export interface PairHealth {
  pair: string;
  source: string;
  /** Time since the pair's newest tick arrived (ms, by our clock). */
  ageMs: number;
  /** The newest tick's own timestamp (ms). */
  lastTimestamp: number;
  /** Typical time between the pair's ticks (ms, by tick time); null until known. */
  usualGapMs: number | null;
  stale: boolean;
  suspect: boolean;
  /** Suspect ticks seen since start. */
  suspectTicks: number;
  lastSuspect: SuspectTick | null;
}

interface PairState {
  source: string;
  lastTs: number;
  arrivedAt: number;
  price: number;
  gapAvg: number;
  gaps: number;
  moveAvg: number;
  moves: number;
  /** Price before the last suspect jump, while the tick after it has not come yet. */
  beforeJump: number | null;
  suspectAt: number | null;
  suspectTicks: number;
  lastSuspect: SuspectTick | null;
}

/**
 * Watches accepted ticks per pair (pure: the caller passes the clock). A pair silent for much
 * longer than its usual gap is stale; a tick whose price jumps far beyond the pair's typical
 * move is suspect (it is kept; the pair is flagged). Only ticks that advance a pair's time
 * count: history a page loads again (late ticks) neither refreshes nor moves a pair.
 */
export class FeedHealthMonitor {
  private readonly pairs = new Map<string, PairState>();
  private readonly o: FeedHealthOptions;

  constructor(options: Partial<FeedHealthOptions> = {}) {
    this.o = { ...DEFAULT_FEED_HEALTH, ...options };
  }

  /** Takes accepted ticks; returns how many of them were suspect. */
  observe(ticks: readonly Tick[], source: string, nowMs: number): number {
    let suspects = 0;
    for (const t of ticks) if (this.observeOne(t, source, nowMs)) suspects++;
    return suspects;
  }

  private observeOne(t: Tick, source: string, now: number): boolean {
    const s = this.pairs.get(t.pair);
    if (!s) {
      this.remember(t.pair, {
        source,
        lastTs: t.timestamp,
        arrivedAt: now,
        price: t.price,
        gapAvg: 0,
        gaps: 0,
        moveAvg: 0,
        moves: 0,
        beforeJump: null,
        suspectAt: null,
        suspectTicks: 0,
        lastSuspect: null,
      });
      return false;
    }
    if (t.timestamp < s.lastTs) return false;
    const o = this.o;
    const gap = t.timestamp - s.lastTs;
    if (gap > 0) {
      s.gapAvg = s.gaps === 0 ? gap : s.gapAvg + o.alpha * (gap - s.gapAvg);
      s.gaps++;
    }
    s.lastTs = t.timestamp;
    s.arrivedAt = now;
    s.source = source;

    const move = Math.abs(t.price - s.price);
    const limit = o.jumpFactor * Math.max(s.moveAvg, o.minMoveRel * s.price);
    const jump = s.moves >= o.warmupMoves && move > limit;
    // The tick right after a suspect one, back near the price before the jump, is the return
    // from a spike: not a second jump, and no measure of the pair's usual moves either.
    const isReturn = jump && s.beforeJump !== null && Math.abs(t.price - s.beforeJump) <= limit;
    const suspect = jump && !isReturn;
    if (suspect) {
      s.beforeJump = s.price;
      s.suspectAt = now;
      s.suspectTicks++;
      s.lastSuspect = { price: t.price, previous: s.price, timestamp: t.timestamp };
    } else {
      s.beforeJump = null;
      if (!isReturn) {
        s.moveAvg = s.moves === 0 ? move : s.moveAvg + o.alpha * (move - s.moveAvg);
        s.moves++;
      }
    }
    s.price = t.price;
    return suspect;
  }

  private remember(pair: string, s: PairState): void {
    if (this.pairs.size >= this.o.maxPairs) {
      // Rare (only past maxPairs): forget the pair heard from longest ago.
      let oldest: string | null = null;
      let at = Infinity;
      for (const [p, st] of this.pairs) if (st.arrivedAt < at) [oldest, at] = [p, st.arrivedAt];
      if (oldest !== null) this.pairs.delete(oldest);
    }
    this.pairs.set(pair, s);
  }

  private isStale(s: PairState, now: number): boolean {
    if (s.gaps < this.o.warmupGaps) return false;
    return now - s.arrivedAt > Math.max(this.o.staleFactor * s.gapAvg, this.o.minStaleMs);
  }

  private isSuspect(s: PairState, now: number): boolean {
    return s.suspectAt !== null && now - s.suspectAt < this.o.suspectHoldMs;
  }

  /** Every followed pair, sorted by name. */
  snapshot(nowMs: number): PairHealth[] {
    const out: PairHealth[] = [];
    for (const [pair, s] of this.pairs) {
      out.push({
        pair,
        source: s.source,
        ageMs: Math.max(0, nowMs - s.arrivedAt),
        lastTimestamp: s.lastTs,
        usualGapMs: s.gaps > 0 ? Math.round(s.gapAvg) : null,
        stale: this.isStale(s, nowMs),
        suspect: this.isSuspect(s, nowMs),
        suspectTicks: s.suspectTicks,
        lastSuspect: s.lastSuspect,
      });
    }
    return out.sort((a, b) => (a.pair < b.pair ? -1 : a.pair > b.pair ? 1 : 0));
  }

  /** How many pairs are stale and suspect now. */
  counts(nowMs: number): { stale: number; suspect: number } {
    let stale = 0;
    let suspect = 0;
    for (const s of this.pairs.values()) {
      if (this.isStale(s, nowMs)) stale++;
      if (this.isSuspect(s, nowMs)) suspect++;
    }
    return { stale, suspect };
  }
}
