/**
 * Drawings on a price chart, in chart units: a horizontal level at a price, a trend line between
 * two (time, price) anchors. Times are epoch seconds and need not be bar times (a line drawn on
 * 1M stays where it was on 5M), so they are placed by interpolating between the bars' times
 * (the time scale's logical indexes). Pure: the chart controller turns these into pixels.
 */
export interface Anchor {
  /** Epoch seconds (UTC), between or beyond bars as well. */
  time: number;
  price: number;
}

export type Drawing = { id: string; kind: 'hline'; price: number } | { id: string; kind: 'trend'; a: Anchor; b: Anchor };

export type DrawingKind = Drawing['kind'];

export interface Point {
  x: number;
  y: number;
}

/** A drawing where it is on screen (pane pixels). */
export type ScreenDrawing = { id: string; kind: 'hline'; y: number } | { id: string; kind: 'trend'; a: Point; b: Point };

/** What a pointer touches: the whole drawing (`body`: moves it) or one end of a trend line (moves that end). */
export type DrawingPart = 'body' | 'a' | 'b';

export interface DrawingHit {
  id: string;
  part: DrawingPart;
  distance: number;
}

/** Bars by their open time, oldest first (the chart's own array: nothing is copied per frame). */
export type BarTimes = readonly { readonly time: number }[];

/**
 * The fractional logical index of `time` on a scale whose bars open at `bars[i].time` (sorted,
 * ascending): between two bars it is interpolated, before the first and after the last it goes
 * on one bar per `tfSeconds`. Null without bars.
 */
export function timeToLogical(bars: BarTimes, time: number, tfSeconds: number): number | null {
  const n = bars.length;
  if (n === 0) return null;
  const first = bars[0]!.time;
  const last = bars[n - 1]!.time;
  if (time <= first) return (time - first) / tfSeconds;
  if (time >= last) return n - 1 + (time - last) / tfSeconds;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (bars[mid]!.time <= time) lo = mid;
    else hi = mid;
  }
  const t0 = bars[lo]!.time;
  const t1 = bars[hi]!.time;
  return lo + (time - t0) / (t1 - t0);
}

/** The inverse of timeToLogical. */
export function logicalToTime(bars: BarTimes, logical: number, tfSeconds: number): number | null {
  const n = bars.length;
  if (n === 0) return null;
  if (logical <= 0) return bars[0]!.time + logical * tfSeconds;
  if (logical >= n - 1) return bars[n - 1]!.time + (logical - (n - 1)) * tfSeconds;
  const i = Math.floor(logical);
  const t0 = bars[i]!.time;
  const t1 = bars[i + 1]!.time;
  return t0 + (logical - i) * (t1 - t0);
}

/** Distance from `p` to the segment a-b, in pixels. */
export function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/**
 * The drawing under the pointer within `tolerance` pixels: a trend line's ends first (so a short
 * line can still be resized), then the nearest line. `selected` wins a tie, so a drawing just
 * clicked stays the one that moves.
 */
export function hitTest(drawings: readonly ScreenDrawing[], p: Point, tolerance: number, selected: string | null = null): DrawingHit | null {
  let best: DrawingHit | null = null;
  const better = (h: DrawingHit) =>
    !best ||
    (h.part !== 'body' && best.part === 'body') ||
    ((h.part === 'body') === (best.part === 'body') && (h.distance < best.distance || (h.distance === best.distance && h.id === selected)));
  for (const d of drawings) {
    if (d.kind === 'hline') {
      const distance = Math.abs(p.y - d.y);
      if (distance <= tolerance && better({ id: d.id, part: 'body', distance })) best = { id: d.id, part: 'body', distance };
      continue;
    }
    for (const part of ['a', 'b'] as const) {
      const end = d[part];
      const distance = Math.hypot(p.x - end.x, p.y - end.y);
      if (distance <= tolerance + 2 && better({ id: d.id, part, distance })) best = { id: d.id, part, distance };
    }
    const distance = distanceToSegment(p, d.a, d.b);
    if (distance <= tolerance && better({ id: d.id, part: 'body', distance })) best = { id: d.id, part: 'body', distance };
  }
  return best;
}

/** A drawing with one part moved: `move` maps an anchor (time, price) to where it goes. */
export function moveDrawing(d: Drawing, part: DrawingPart, move: (a: Anchor) => Anchor): Drawing {
  if (d.kind === 'hline') return { ...d, price: move({ time: 0, price: d.price }).price };
  return {
    ...d,
    a: part === 'b' ? d.a : move(d.a),
    b: part === 'a' ? d.b : move(d.b),
  };
}

/** A stored value that is a drawing (localStorage is read back, so it is checked). */
export function isDrawing(v: unknown): v is Drawing {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  if (typeof d.id !== 'string' || d.id.length === 0 || d.id.length > 64) return false;
  if (d.kind === 'hline') return isPrice(d.price);
  if (d.kind === 'trend') return isAnchor(d.a) && isAnchor(d.b);
  return false;
}

function isPrice(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isAnchor(v: unknown): v is Anchor {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  return isPrice(a.price) && isPrice(a.time);
}
