/**
 * The ticks a tick chart shows, oldest first, each at its own place on the time axis. Lightweight
 * Charts needs strictly increasing times: a tick's is its timestamp in (fractional) seconds, and
 * a tick in the same millisecond as the one before goes 10 µs after it. Live ticks and the recent
 * list are joined by seq (each tick once); older pages come before everything loaded.
 */
export interface TickPoint {
  /** Chart time: epoch seconds, fractional. */
  time: number;
  timestamp: number;
  price: number;
  seq: number | null;
}

const TIE_STEP_S = 0.00001;

export class TickSeries {
  private points: TickPoint[] = [];
  private readonly seqs = new Set<number>();

  constructor(private readonly maxPoints = 200_000) {}

  get length(): number {
    return this.points.length;
  }

  all(): readonly TickPoint[] {
    return this.points;
  }

  first(): TickPoint | undefined {
    return this.points[0];
  }

  last(): TickPoint | undefined {
    return this.points[this.points.length - 1];
  }

  /** Ticks newer than the last one, in seq order: returns the points appended (for `update()`). */
  append(ticks: readonly { timestamp: number; price: number; seq: number | null }[]): TickPoint[] {
    const added: TickPoint[] = [];
    for (const t of ticks) {
      if (t.seq !== null && this.seqs.has(t.seq)) continue;
      const prev = this.last();
      if (prev && t.timestamp < prev.timestamp) continue; // late: not on a line drawn in time order
      const p = { time: place(t.timestamp, prev?.time), timestamp: t.timestamp, price: t.price, seq: t.seq };
      this.points.push(p);
      if (t.seq !== null) this.seqs.add(t.seq);
      added.push(p);
    }
    if (this.points.length > this.maxPoints) this.trim();
    return added;
  }

  /**
   * A recent list (a snapshot, GET /api/ticks): merged by seq with what is loaded. Returns true
   * when the series changed before its end (the chart sets it again).
   */
  merge(ticks: readonly { timestamp: number; price: number; seq: number | null }[]): boolean {
    const fresh = ticks.filter((t) => t.seq === null || !this.seqs.has(t.seq));
    if (fresh.length === 0) return false;
    const last = this.last();
    if (!last || fresh.every((t) => t.timestamp >= last.timestamp && (t.seq ?? 0) > (last.seq ?? 0))) {
      this.append(fresh);
      return true;
    }
    this.rebuild([...this.points, ...fresh.map((t) => ({ time: 0, timestamp: t.timestamp, price: t.price, seq: t.seq }))]);
    return true;
  }

  /** An older page (all before the first loaded tick; stored ticks carry no seq): put in front. */
  prepend(ticks: readonly { timestamp: number; price: number; seq?: number | null }[]): number {
    const first = this.first();
    const older = ticks.filter((t) => !first || t.timestamp < first.timestamp).filter((t) => t.seq == null || !this.seqs.has(t.seq));
    if (older.length === 0) return 0;
    this.rebuild([...older.map((t) => ({ time: 0, timestamp: t.timestamp, price: t.price, seq: t.seq ?? null })), ...this.points]);
    return older.length;
  }

  clear(): void {
    this.points = [];
    this.seqs.clear();
  }

  private rebuild(points: TickPoint[]): void {
    points.sort((a, b) => a.timestamp - b.timestamp || (a.seq ?? -1) - (b.seq ?? -1));
    let prev: number | undefined;
    for (const p of points) prev = p.time = place(p.timestamp, prev);
    this.points = points;
    this.seqs.clear();
    for (const p of points) if (p.seq !== null) this.seqs.add(p.seq);
  }

  private trim(): void {
    for (const p of this.points.splice(0, this.points.length - this.maxPoints)) if (p.seq !== null) this.seqs.delete(p.seq);
  }
}

function place(timestamp: number, prevTime: number | undefined): number {
  const t = timestamp / 1000;
  return prevTime !== undefined && t <= prevTime ? prevTime + TIE_STEP_S : t;
}
