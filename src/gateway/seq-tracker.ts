import { mergeBySeq } from '../core/seq-merge.js';
import type { SeqTick } from '../core/tick.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';
import type { Snapshot } from '../redis/tick-store.js';

export interface SeqTrackerDeps {
  /** The instrument's recent ticks and current seq (the recent list in Redis). */
  snapshot: (sym: string) => Promise<Snapshot>;
  /** Called with each tick to fan out, per instrument in seq order, each seq once. */
  deliver: (sym: string, tick: SeqTick) => void;
  log: Logger;
}

/**
 * Per instrument (keyed by symbol), the last seq fanned out. Pub/sub loses what is published while
 * the subscriber link is down: a jump in seq (or a reconnect) makes the tracker fetch the missing
 * ticks from the recent list and deliver them in order (merged by seq, as the page's backfill
 * does); ticks arriving meanwhile are held, and repeats are dropped.
 */
export class SeqTracker {
  private readonly last = new Map<string, number>();
  /** Instruments being backfilled, with the ticks that arrived meanwhile. */
  private readonly resyncing = new Map<string, SeqTick[]>();
  private closed = false;

  constructor(private readonly deps: SeqTrackerDeps) {}

  /** Starts following an instrument at `seq` (a subscribe snapshot), unless it is followed already. */
  follow(sym: string, seq: number): void {
    if (!this.last.has(sym)) this.last.set(sym, seq);
  }

  /** Nobody here follows the instrument any more. */
  forget(sym: string): void {
    this.last.delete(sym);
  }

  onTick(sym: string, tick: SeqTick): void {
    const held = this.resyncing.get(sym);
    if (held) {
      held.push(tick);
      return;
    }
    const last = this.last.get(sym);
    if (last !== undefined && tick.seq <= last) return;
    if (last !== undefined && tick.seq > last + 1) {
      void this.resync(sym, [tick]);
      return;
    }
    this.last.set(sym, tick.seq);
    this.deps.deliver(sym, tick);
  }

  /** Fetches what may have been missed (after a reconnect of the subscriber link, or a gap). */
  async resync(sym: string, held: SeqTick[] = []): Promise<void> {
    if (this.resyncing.has(sym)) return;
    this.resyncing.set(sym, held);
    let recent: SeqTick[] = [];
    let current = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 8 && !this.closed; attempt++) {
      try {
        ({ ticks: recent, seq: current } = await this.deps.snapshot(sym));
        break;
      } catch {
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, 50, 1000)));
      }
    }
    const arrived = this.resyncing.get(sym) ?? held;
    this.resyncing.delete(sym);
    if (this.closed || !this.last.has(sym)) return;
    let last = this.last.get(sym)!;
    if (current < last) {
      // The counter went back: Redis lost its data. Follow the new numbering.
      this.deps.log.warn({ pair: sym, was: last, now: current }, 'tick seq went back (Redis lost data); following the new seqs');
      last = 0;
    }
    const merged = mergeBySeq(last, recent, arrived);
    if (last > 0 && merged.missing > 0) {
      // Older than the recent list: subscribers see the gap in seq and can read history over HTTP.
      this.deps.log.warn({ pair: sym, missing: merged.missing }, 'ticks missed while the pub/sub link was down could not all be backfilled');
    }
    for (const tick of merged.items) {
      this.last.set(sym, tick.seq);
      this.deps.deliver(sym, tick);
    }
  }

  close(): void {
    this.closed = true;
  }
}
