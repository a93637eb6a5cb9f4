/**
 * A time-keyed series kept sorted, one point per time (epoch seconds): the chart's model of what
 * it shows. Points are merged by time, so joining history, snapshots and live updates can never
 * double a bar, and every change is recorded so the chart applies it once per frame: `update()`
 * for the touched points, or one `setData()` when the shape changed (an insert before the end,
 * a prepend, a replace).
 */
export interface TimePoint {
  time: number;
}

export interface SeriesChanges<T> {
  /** The whole series must be set again (setData). */
  reset: boolean;
  /** Points to update in place, oldest first (only when reset is false). */
  points: T[];
}

export class TimeSeries<T extends TimePoint> {
  private points: T[] = [];
  private readonly index = new Map<number, number>();
  private readonly dirty = new Set<number>();
  private needsReset = false;

  /** Enough for every stored bar a user can page back through on a timeframe. */
  constructor(private readonly maxPoints = 200_000) {}

  get length(): number {
    return this.points.length;
  }

  all(): readonly T[] {
    return this.points;
  }

  first(): T | undefined {
    return this.points[0];
  }

  last(): T | undefined {
    return this.points[this.points.length - 1];
  }

  get(time: number): T | undefined {
    const i = this.index.get(time);
    return i === undefined ? undefined : this.points[i];
  }

  has(time: number): boolean {
    return this.index.has(time);
  }

  /** Sets the point at `point.time`: replaces it, appends it, or inserts it (a reset). */
  set(point: T): void {
    const i = this.index.get(point.time);
    if (i !== undefined) {
      this.points[i] = point;
      this.dirty.add(point.time);
      return;
    }
    const last = this.last();
    if (!last || point.time > last.time) {
      this.index.set(point.time, this.points.length);
      this.points.push(point);
      this.dirty.add(point.time);
      this.trim();
      return;
    }
    this.points.push(point);
    this.rebuild();
  }

  /** Marks a point changed after it was modified in place. */
  touch(time: number): void {
    if (this.index.has(time)) this.dirty.add(time);
  }

  /**
   * Adds the points whose time is absent; `overwrite` also replaces present ones. Used for history
   * (older bars, or everything before the live stream has a snapshot).
   */
  merge(points: readonly T[], overwrite: boolean): number {
    let added = 0;
    // Into an empty series: one setData, never a run of updates of points the chart lacks.
    let shape = this.points.length === 0;
    const last = this.last()?.time ?? Number.NEGATIVE_INFINITY;
    for (const p of points) {
      const i = this.index.get(p.time);
      if (i !== undefined) {
        if (overwrite) {
          this.points[i] = p;
          this.dirty.add(p.time);
        }
        continue;
      }
      added++;
      this.points.push(p);
      if (p.time < last) shape = true;
      else this.dirty.add(p.time);
    }
    if (added > 0) {
      // Many new points, or any before the end: one setData is cheaper than many updates.
      if (shape || added > 8 || points.some((p, k) => k > 0 && p.time <= points[k - 1]!.time)) this.rebuild();
      else {
        this.points.sort((a, b) => a.time - b.time);
        this.reindex();
        this.trim();
      }
    }
    return added;
  }

  /**
   * An authoritative snapshot: from its first time on, the series becomes exactly `points`;
   * older points stay. An empty snapshot changes nothing.
   */
  replaceFrom(points: readonly T[]): void {
    if (points.length === 0) return;
    const from = points[0]!.time;
    this.points = this.points.filter((p) => p.time < from).concat(points);
    this.rebuild();
  }

  clear(): void {
    this.points = [];
    this.index.clear();
    this.dirty.clear();
    this.needsReset = true;
  }

  /** What changed since the last call; clears the record. */
  takeChanges(): SeriesChanges<T> {
    if (this.needsReset) {
      this.needsReset = false;
      this.dirty.clear();
      return { reset: true, points: [] };
    }
    if (this.dirty.size === 0) return { reset: false, points: [] };
    const times = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    const points: T[] = [];
    for (const t of times) {
      const p = this.get(t);
      if (p) points.push(p);
    }
    return { reset: false, points };
  }

  private rebuild(): void {
    const byTime = new Map<number, T>();
    for (const p of this.points) byTime.set(p.time, p); // a later duplicate wins
    this.points = [...byTime.values()].sort((a, b) => a.time - b.time);
    this.reindex();
    this.trim();
    this.needsReset = true;
  }

  private reindex(): void {
    this.index.clear();
    this.points.forEach((p, i) => this.index.set(p.time, i));
  }

  private trim(): void {
    if (this.points.length <= this.maxPoints) return;
    this.points.splice(0, this.points.length - this.maxPoints);
    this.reindex();
    this.needsReset = true;
  }
}
