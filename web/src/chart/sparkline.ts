import { COLORS } from './theme.js';

/** A tiny line of the latest prices, drawn on a canvas at most every `minIntervalMs`. */
export class Sparkline {
  private readonly values: number[] = [];
  private lastDraw = 0;
  private dirty = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly capacity = 120,
    private readonly minIntervalMs = 120,
  ) {}

  push(price: number): void {
    this.values.push(price);
    if (this.values.length > this.capacity) this.values.splice(0, this.values.length - this.capacity);
    this.dirty = true;
  }

  seed(prices: readonly number[]): void {
    this.values.length = 0;
    for (const p of prices.slice(-this.capacity)) this.values.push(p);
    this.dirty = true;
  }

  draw(now: number, force = false): void {
    if (!this.dirty || (!force && now - this.lastDraw < this.minIntervalMs)) return;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    this.lastDraw = now;
    this.dirty = false;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = this.canvas.clientWidth || 80;
    const h = this.canvas.clientHeight || 22;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const v = this.values;
    if (v.length < 2) return;
    let min = Infinity;
    let max = -Infinity;
    for (const x of v) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const span = max - min || 1;
    const step = w / (v.length - 1);
    const y = (p: number) => h - 2 - ((p - min) / span) * (h - 4);
    const up = v[v.length - 1]! >= v[0]!;
    const color = up ? COLORS.up : COLORS.down;
    ctx.beginPath();
    v.forEach((p, i) => (i === 0 ? ctx.moveTo(0, y(p)) : ctx.lineTo(i * step, y(p))));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.2;
    ctx.stroke();
    ctx.lineTo(w, h);
    ctx.lineTo(0, h);
    ctx.closePath();
    const fill = ctx.createLinearGradient(0, 0, 0, h);
    fill.addColorStop(0, up ? 'rgba(38,166,154,0.22)' : 'rgba(239,83,80,0.22)');
    fill.addColorStop(1, 'rgba(0,0,0,0)');
    ctx.fillStyle = fill;
    ctx.fill();
  }
}
