import { backoffDelay } from '../../../../src/lib/backoff.js';
import { followsOn, mergeBySeq } from '../../../../src/core/seq-merge.js';
import { RateMeter } from '../latency.js';
import type { CandleEvent, SeqTick, SubscribeOk } from '../types.js';
import type { PairStats, StreamItem, Watcher } from './types.js';

/** What a pair's stream needs from the client around it. */
export interface PairStreamHooks {
  /** Hands items to the pair's watchers, now. */
  deliver(stream: PairStream, items: StreamItem[]): void;
  /** GET /api/ticks: the pair's recent ticks, oldest first. */
  fetchRecent(pair: string, limit: number): Promise<SeqTick[]>;
  /** Asks for a fresh snapshot of the pair. */
  resubscribe(stream: PairStream): void;
  /** Ticks of every pair, for the overall rate. */
  counted(n: number, now: number): void;
  /** The server named the pair by another spelling (its canonical name): events come under it. */
  renamed(stream: PairStream, canonical: string): void;
  now(): number;
  log(message: string): void;
}

export interface PairStreamOptions {
  /** Ticks asked for in one gap backfill (at most the server's TICK_BUFFER_SIZE). */
  maxBackfill: number;
  /** Ticks held while a backfill runs; beyond it the pair takes a fresh snapshot. */
  maxHeld: number;
  /** Backoff of repeated resubscribes after seq mismatches: first delay and cap, in ms. */
  resyncBackoffMs: { base: number; cap: number };
}

/** After this long without a mismatch, the resubscribe backoff starts over. */
const MISMATCH_MEMORY_MS = 30_000;

/**
 * One followed pair: its watchers, the subscribe request in force, and its live data checked by
 * seq. A repeat is dropped; a gap is filled from GET /api/ticks (the one seq merge of
 * src/core/seq-merge.ts, as the gateway's resync uses); a hole that cannot be filled is stepped
 * over and repaired by a fresh snapshot, asked for with capped backoff (and logged) so a mismatch
 * that does not go away cannot make the page resubscribe in a loop.
 */
export class PairStream {
  readonly watchers = new Set<Watcher>();
  /** The request (JSON) last sent, in force or in flight; null before the first or after the link dropped. */
  sent: string | null = null;
  /** Bumped per subscribe sent; an ack of an older one is ignored. */
  generation = 0;
  /** A snapshot is in: ticks are checked against lastSeq. */
  synced = false;
  lastSeq: number | null = null;
  /** The name the server answered with (the instrument's canonical name); events carry it. */
  canonical: string;
  closed = false;
  retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Ticks held while a gap is backfilled. */
  private held: SeqTick[] | null = null;
  private price: number | null = null;
  private prevPrice: number | null = null;
  private timestamp: number | null = null;
  private readonly rate = new RateMeter(5);
  private mismatches = 0;
  private lastMismatchAt = Number.NEGATIVE_INFINITY;
  private resyncTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly pair: string,
    private readonly hooks: PairStreamHooks,
    private readonly options: PairStreamOptions,
  ) {
    this.canonical = pair;
  }

  stats(): PairStats {
    return { price: this.price, prevPrice: this.prevPrice, timestamp: this.timestamp, seq: this.lastSeq, rate: this.rate.rate(this.hooks.now()) };
  }

  /** A subscribe snapshot: ticks newer than ours were missed while away; then the snapshot itself. */
  onSnapshot(ack: SubscribeOk): void {
    if (typeof ack.pair === 'string' && ack.pair !== this.canonical) {
      this.canonical = ack.pair;
      this.hooks.renamed(this, ack.pair);
    }
    const resync = this.synced;
    const last = this.lastSeq;
    const items: StreamItem[] = [];
    if (last !== null && ack.seq >= last) {
      const newer = mergeBySeq(last, ack.ticks).items;
      if (newer.length > 0) items.push(this.take(newer));
    }
    const latest = ack.ticks[ack.ticks.length - 1];
    if (latest && (this.timestamp === null || latest.seq >= (this.lastSeq ?? 0))) this.setPrice(latest);
    // Seq can only go back if Redis lost its data: follow the new numbering.
    this.lastSeq = ack.seq;
    this.synced = true;
    this.held = null;
    items.push({ kind: 'snapshot', ack, resync });
    this.hooks.deliver(this, items);
  }

  refused(error: string): void {
    this.hooks.deliver(this, [{ kind: 'error', error }]);
  }

  onTicks(ticks: SeqTick[]): void {
    if (!this.synced || this.closed) return; // not (yet) subscribed: the snapshot will cover these
    if (this.held) {
      this.held.push(...ticks);
      if (this.held.length > this.options.maxHeld) {
        // The held ticks are dropped: the bars they fell in are in doubt until read again.
        this.hooks.deliver(this, [this.gap(this.held[this.held.length - 1]!.timestamp)]);
        this.mismatch('too many ticks arrived during a backfill');
      }
      return;
    }
    const last = this.lastSeq ?? 0;
    if (followsOn(last, ticks)) {
      this.accept(ticks);
      return;
    }
    const m = mergeBySeq(last, ticks);
    if (m.contiguous > 0) this.accept(m.items.slice(0, m.contiguous));
    if (m.contiguous < m.items.length) void this.backfill(m.items.slice(m.contiguous));
  }

  onCandle(event: CandleEvent): void {
    if (!this.synced || this.closed) return;
    this.hooks.deliver(this, [{ kind: 'candle', event }]);
  }

  /** Fetches the ticks between lastSeq and the first held one. */
  private async backfill(held: SeqTick[]): Promise<void> {
    this.held = held;
    const after = this.lastSeq ?? 0;
    const generation = this.generation;
    let recent: SeqTick[] = [];
    try {
      recent = await this.hooks.fetchRecent(this.pair, Math.min(this.options.maxBackfill, held[0]!.seq - after - 1 + 100));
    } catch {
      recent = [];
    }
    if (this.closed || this.generation !== generation || this.held === null) return; // resubscribed meanwhile
    const pending = this.held;
    this.held = null;
    const m = mergeBySeq(after, recent, pending);
    if (m.contiguous === m.items.length) {
      if (m.items.length > 0) this.accept(m.items);
      return;
    }
    // A hole the recent list cannot fill: step over it so the chart stays live, and have a fresh
    // snapshot repair the candles. The charts are told where it was (their bars there are in doubt).
    this.hooks.deliver(this, [this.gap(m.items[m.items.length - 1]!.timestamp), this.take(m.items)]);
    this.mismatch(`${m.missing} ticks after seq ${after + m.contiguous} could not be backfilled`);
  }

  /** Asks for a fresh snapshot after a mismatch, backing off while mismatches keep coming. */
  private mismatch(reason: string): void {
    this.held = null;
    const now = this.hooks.now();
    if (now - this.lastMismatchAt > MISMATCH_MEMORY_MS) this.mismatches = 0;
    this.lastMismatchAt = now;
    if (this.resyncTimer) return; // one is due already
    const delay = backoffDelay(this.mismatches, this.options.resyncBackoffMs.base, this.options.resyncBackoffMs.cap);
    this.mismatches++;
    this.hooks.log(`${this.pair}: ${reason}; fresh snapshot in ${delay} ms (mismatch ${this.mismatches} in a row)`);
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      if (!this.closed) this.hooks.resubscribe(this);
    }, delay);
  }

  /** The span of ticks stepped over: from the last one taken to `toMs`. */
  private gap(toMs: number): StreamItem {
    return { kind: 'gap', fromMs: this.timestamp ?? toMs, toMs };
  }

  private accept(ticks: SeqTick[]): void {
    this.hooks.deliver(this, [this.take(ticks)]);
  }

  /** Books ticks as received (seq, price, rates) and makes them an item. */
  private take(ticks: SeqTick[]): StreamItem {
    const latest = ticks[ticks.length - 1]!;
    this.lastSeq = latest.seq;
    this.setPrice(latest);
    const now = this.hooks.now();
    this.rate.add(ticks.length, now);
    this.hooks.counted(ticks.length, now);
    return { kind: 'ticks', ticks };
  }

  private setPrice(tick: SeqTick): void {
    this.prevPrice = this.price;
    this.price = tick.price;
    this.timestamp = tick.timestamp;
  }

  /** The link dropped: the server forgot the subscription; a backfill in hand is void. */
  linkDown(): void {
    this.sent = null;
    this.held = null;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  close(): void {
    this.closed = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
  }
}
