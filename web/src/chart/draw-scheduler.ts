/**
 * When a chart hands its changes to Lightweight Charts. The first change after a frame goes at
 * once, so the library asks for its animation frame; this asks for its own frame just before, so
 * it runs first in that same frame and hands over everything that arrived meanwhile. Every change
 * is painted in the next frame, and `series.update()` runs at most twice a frame however many
 * events arrive (each call makes the library recompute its scales).
 */
export class DrawScheduler {
  /** requestAnimationFrame; tests put in one that runs at once. */
  static requestFrame: (callback: () => void) => void = (cb) => {
    requestAnimationFrame(() => cb());
  };

  private requested = false;
  private cancelled = false;

  /** `draw(inFrame)`: hand the changes over; `inFrame` when called from the animation frame. */
  constructor(private readonly draw: (inFrame: boolean) => void) {}

  changed(): void {
    if (this.requested || this.cancelled) return;
    this.requested = true;
    DrawScheduler.requestFrame(() => {
      this.requested = false;
      if (!this.cancelled) this.draw(true);
    });
    this.draw(false);
  }

  cancel(): void {
    this.cancelled = true;
  }
}
