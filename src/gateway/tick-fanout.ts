import type { Server } from 'socket.io';
import type { SeqTick } from '../core/tick.js';

/** The room of an instrument's tick subscribers: by symbol, so every spelling of it is one room. */
export const pairRoom = (sym: string) => `pair:${sym}`;

/**
 * Sends each instrument's ticks to its room, grouped per event-loop turn, in seq order. A socket
 * that joined at snapshot seq S gets only ticks after S: ticks fanned out while it was joining
 * are handed to it alone (from a short ring of recent ones), later ones come with the room.
 */
export class TickFanout {
  private readonly pending = new Map<string, SeqTick[]>();
  /** Per instrument, the last ticks fanned out (closes the race between snapshot and room join). */
  private readonly recent = new Map<string, SeqTick[]>();
  /** Per instrument, sockets that joined at snapshot seq S and must not get ticks <= S. */
  private readonly joins = new Map<string, Map<string, number>>();
  private flushScheduled = false;
  private closed = false;

  constructor(
    private readonly io: Server,
    /** Called after each instrument's batch went out (live candles follow the ticks). */
    private readonly onSent: (sym: string, ticks: readonly SeqTick[]) => void,
    private readonly recentSize: number,
  ) {}

  enqueue(sym: string, tick: SeqTick): void {
    const list = this.pending.get(sym);
    if (list) list.push(tick);
    else this.pending.set(sym, [tick]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * A socket joins an instrument at snapshot seq `seq`: returns the ticks after it that were
   * fanned out already (send them to it alone, right after the snapshot).
   */
  join(socketId: string, sym: string, seq: number): SeqTick[] {
    const missed = (this.recent.get(sym) ?? []).filter((t) => t.seq > seq);
    let joins = this.joins.get(sym);
    if (!joins) this.joins.set(sym, (joins = new Map()));
    joins.set(socketId, seq);
    return missed;
  }

  leave(socketId: string, sym: string): void {
    this.joins.get(sym)?.delete(socketId);
  }

  /** Nobody here follows the instrument any more. */
  forget(sym: string): void {
    this.recent.delete(sym);
    this.joins.delete(sym);
  }

  close(): void {
    this.closed = true;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    for (const [sym, ticks] of this.pending) {
      this.remember(sym, ticks);
      const joins = this.joins.get(sym);
      const except: string[] = [];
      if (joins) {
        for (const [socketId, seq] of joins) {
          if (ticks[0]!.seq > seq) {
            joins.delete(socketId); // caught up: from now on the room broadcast is exact for it
            continue;
          }
          except.push(socketId);
          const newer = ticks.filter((t) => t.seq > seq);
          if (newer.length > 0) this.io.to(socketId).emit('ticks', newer);
        }
      }
      const target = except.length > 0 ? this.io.to(pairRoom(sym)).except(except) : this.io.to(pairRoom(sym));
      target.emit('ticks', ticks);
      this.onSent(sym, ticks);
    }
    this.pending.clear();
  }

  private remember(sym: string, ticks: SeqTick[]): void {
    const ring = this.recent.get(sym) ?? [];
    ring.push(...ticks);
    if (ring.length > this.recentSize) ring.splice(0, ring.length - this.recentSize);
    this.recent.set(sym, ring);
  }
}
