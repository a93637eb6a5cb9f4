/**
 * Runs `fn` at most once per `intervalMs`, and once more at the end of a burst, so the last
 * value is always shown even when updates stop (for text that follows a live stream).
 */
export class Throttle {
  private last = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => void,
  ) {}

  run(): void {
    const now = performance.now();
    const wait = this.last + this.intervalMs - now;
    if (wait <= 0) {
      this.fire(now);
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.fire(performance.now());
    }, wait);
  }

  /** Runs now (a hovered crosshair must not wait). */
  now(): void {
    this.fire(performance.now());
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.last = now;
    this.fn();
  }
}
