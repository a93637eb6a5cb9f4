/**
 * Tick-to-paint latency samples over a sliding window; the median of the recent ones is what the
 * status bar shows. Fixed memory: a ring of the last `capacity` samples.
 */
export class LatencyMeter {
  private readonly at: Float64Array;
  private readonly ms: Float64Array;
  private next = 0;
  private count = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly capacity = 4096,
  ) {
    this.at = new Float64Array(capacity);
    this.ms = new Float64Array(capacity);
  }

  record(latencyMs: number, now: number): void {
    this.at[this.next] = now;
    this.ms[this.next] = latencyMs;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Samples taken after `since` (epoch ms), oldest first, as [at, ms] (the benchmark reads them). */
  samplesSince(since: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.count; i++) if (this.at[i]! > since) out.push([this.at[i]!, this.ms[i]!]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** The given quantile (0.5: median) of the samples of the last window; null without any. */
  quantile(q: number, now: number): number | null {
    const values: number[] = [];
    for (let i = 0; i < this.count; i++) if (now - this.at[i]! <= this.windowMs) values.push(this.ms[i]!);
    if (values.length === 0) return null;
    values.sort((a, b) => a - b);
    return values[Math.min(values.length - 1, Math.floor(q * values.length))]!;
  }
}

/** Events per second over a sliding window of whole seconds. */
export class RateMeter {
  private readonly buckets: Uint32Array;
  private readonly seconds: Float64Array;

  constructor(private readonly windowS = 5) {
    this.buckets = new Uint32Array(windowS + 1);
    this.seconds = new Float64Array(windowS + 1).fill(-1);
  }

  private started: number | null = null;

  add(n: number, now: number): void {
    this.started ??= now;
    const s = Math.floor(now / 1000);
    const i = s % this.buckets.length;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += n;
  }

  /**
   * Per second, over the last `windowS` complete seconds (over fewer while the meter is younger
   * than that, so a pair just followed does not show a rate ramping up from zero).
   */
  rate(now: number): number {
    const s = Math.floor(now / 1000);
    let total = 0;
    let oldest = s;
    for (let i = 0; i < this.buckets.length; i++) {
      const at = this.seconds[i]!;
      if (at < s && at >= s - this.windowS) {
        total += this.buckets[i]!;
        if (at < oldest) oldest = at;
      }
    }
    if (this.started === null) return 0;
    const span = Math.min(this.windowS, Math.max(1, s - Math.max(oldest, Math.floor(this.started / 1000))));
    return total / span;
  }
}
