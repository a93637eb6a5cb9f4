/**
 * When the persister writes: as soon as `maxBatch` ticks wait, or when the oldest tick in hand
 * has waited `intervalMs`. Pure, so the rule is tested without clocks or servers.
 */
export class FlushPolicy {
  constructor(
    readonly intervalMs: number,
    readonly maxBatch: number,
  ) {}

  /** Whether to write now, holding `count` ticks of which the first arrived at `firstAt`. */
  due(count: number, firstAt: number, now: number): boolean {
    return count >= this.maxBatch || (count > 0 && now - firstAt >= this.intervalMs);
  }

  /** How long to wait for more ticks before the next decision (never past the deadline). */
  waitMs(count: number, firstAt: number, now: number, maxWaitMs: number): number {
    if (count === 0) return maxWaitMs;
    return Math.max(0, Math.min(maxWaitMs, firstAt + this.intervalMs - now));
  }
}
