import type { LatencyMeter } from '../latency.js';

export type FrameScheduler = (callback: () => void) => void;

/**
 * Runs `callback` after the current frame has been rendered: a message posted from inside an
 * animation frame is handled once the browser has painted that frame.
 */
export function afterPaint(): FrameScheduler {
  if (typeof MessageChannel === 'undefined' || typeof window === 'undefined') return (cb) => setTimeout(cb, 0);
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => {
    for (const cb of queue.splice(0)) cb();
  };
  return (cb) => {
    queue.push(cb);
    channel.port2.postMessage(null);
  };
}

/**
 * Tick-to-paint latency: a chart notes the ticks it handed to its series; the next animation
 * frame draws them (Lightweight Charts asked for that frame when it took the update, so its
 * drawing comes first), and once that frame is painted each tick's latency is wall time minus
 * its timestamp. Ticks noted while the page is hidden are not counted (nothing is painted then).
 */
export class PaintMeter {
  private pending: number[] = [];
  private scheduled = false;

  constructor(
    private readonly meter: LatencyMeter,
    private readonly scheduleFrame: FrameScheduler,
    private readonly afterFrame: FrameScheduler,
    private readonly now: () => number,
    private readonly hidden: () => boolean = () => typeof document !== 'undefined' && document.visibilityState === 'hidden',
  ) {}

  /** `inFrame`: noted inside the animation frame that paints them (no frame to wait for). */
  note(timestamps: Iterable<number>, inFrame = false): void {
    for (const ts of timestamps) this.pending.push(ts);
    if (this.pending.length > 4096) this.pending.splice(0, this.pending.length - 4096);
    if (this.scheduled) return;
    this.scheduled = true;
    if (inFrame) this.afterFrame(() => this.record());
    else this.scheduleFrame(() => this.afterFrame(() => this.record()));
  }

  private record(): void {
    this.scheduled = false;
    const ticks = this.pending;
    this.pending = [];
    if (this.hidden()) return;
    const wall = this.now();
    for (const ts of ticks) this.meter.record(wall - ts, wall);
  }
}
