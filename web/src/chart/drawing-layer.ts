import type { IChartApi, ISeriesApi, Logical, SeriesType } from 'lightweight-charts';
import { hitTest, logicalToTime, moveDrawing, timeToLogical, type Anchor, type BarTimes, type Drawing, type DrawingPart, type Point, type ScreenDrawing } from '../lib/drawing-geometry.js';
import { newDrawingId, type DrawingStore } from '../lib/drawing-store.js';
import { formatPrice } from '../lib/format.js';
import { DrawingsPrimitive, HIT_TOLERANCE_PX, type DrawingScene } from './drawings-primitive.js';

/** What a press on the chart does: pan (cursor), place a level, a trend line, or an alert. */
export type DrawingTool = 'cursor' | 'hline' | 'trend' | 'alert';

/** What the layer needs of its chart. */
export interface DrawingHost {
  readonly chart: IChartApi;
  /** The element the chart was created in. */
  readonly element: HTMLElement;
  priceSeries(): ISeriesApi<SeriesType>;
  bars(): BarTimes;
  tfSeconds(): number;
  pair(): string;
  precision(): number;
}

type Gesture =
  | { kind: 'move'; id: string; part: DrawingPart; from: Point; original: Drawing; draft: Drawing }
  | { kind: 'trend'; from: Point }
  | { kind: 'swallow' };

/** A finger is less precise than a mouse. */
const TOUCH_TOLERANCE_PX = 14;
/** A press that moves less than this is a click (a trend line then waits for its second click). */
const CLICK_SLOP_PX = 6;

/**
 * Drawing on a candle chart with the mouse or a finger (pointer events): a level is placed with
 * one press, a trend line with a drag or two clicks; a press on a drawing selects it and a drag
 * moves it (its body, or one end of a trend line). While the layer owns a press, the chart does
 * not pan. The drawings live in the pair's store (kept across reloads) and are drawn by
 * DrawingsPrimitive on the price series.
 */
export class DrawingLayer {
  readonly primitive: DrawingsPrimitive;
  private tool: DrawingTool = 'cursor';
  private selected: string | null = null;
  private gesture: Gesture | null = null;
  /** A trend line whose first end is placed (by a click): the second follows the pointer. */
  private pending: { a: Anchor; b: Anchor } | null = null;
  private owning = false;
  private destroyed = false;
  private readonly unsubscribe: () => void;
  onToolDone: (() => void) | null = null;
  onSelect: ((id: string | null) => void) | null = null;
  onAlertAt: ((price: number) => void) | null = null;
  onContextMenu: ((at: { clientX: number; clientY: number; price: number }) => void) | null = null;

  constructor(
    private readonly host: DrawingHost,
    private readonly store: DrawingStore,
  ) {
    this.primitive = new DrawingsPrimitive(() => this.scene());
    const el = host.element;
    el.addEventListener('pointerdown', this.onDown, true);
    el.addEventListener('pointermove', this.onHover);
    el.addEventListener('mousedown', this.swallow, true);
    el.addEventListener('touchstart', this.swallow, true);
    el.addEventListener('touchmove', this.onTouchMove, { passive: false });
    el.addEventListener('contextmenu', this.onContextMenuEvent);
    this.unsubscribe = store.subscribe((pair) => {
      if (pair === this.host.pair()) this.primitive.invalidate();
    });
  }

  get currentTool(): DrawingTool {
    return this.tool;
  }

  get selectedId(): string | null {
    return this.selected;
  }

  drawings(): readonly Drawing[] {
    return this.store.get(this.host.pair());
  }

  setTool(tool: DrawingTool): void {
    if (tool === this.tool) return;
    this.tool = tool;
    this.pending = null;
    if (tool !== 'cursor') this.select(null);
    // A finger on the chart draws instead of scrolling the page while a tool is chosen.
    this.host.element.style.touchAction = tool === 'cursor' ? '' : 'none';
    this.host.element.dataset.tool = tool;
    this.primitive.invalidate();
  }

  /** Deletes the selected drawing; false when none is selected. */
  deleteSelected(): boolean {
    if (!this.selected) return false;
    this.store.remove(this.host.pair(), this.selected);
    this.select(null);
    return true;
  }

  /** Adds a level at `price` (the chart's menu). */
  addLevel(price: number): void {
    const d: Drawing = { id: newDrawingId(), kind: 'hline', price };
    this.store.add(this.host.pair(), d);
    this.select(d.id);
  }

  /** The pair or timeframe changed: nothing in progress carries over. */
  reset(): void {
    this.cancelGesture();
    this.pending = null;
    this.select(null);
    this.primitive.invalidate();
  }

  /** Esc: the pending line, the tool, then the selection. */
  cancel(): boolean {
    if (this.pending || this.gesture) {
      this.cancelGesture();
      this.pending = null;
      this.primitive.invalidate();
      return true;
    }
    if (this.tool !== 'cursor') {
      this.setTool('cursor');
      this.onToolDone?.();
      return true;
    }
    if (this.selected) {
      this.select(null);
      return true;
    }
    return false;
  }

  // ---- geometry -----------------------------------------------------------------------------

  /** The point in the price pane's pixels, or null outside the plot (the axes, other panes). */
  private local(e: { clientX: number; clientY: number }): Point | null {
    const pane = this.host.chart.panes()[0]?.getHTMLElement();
    if (!pane) return null;
    const r = pane.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    if (x < 0 || y < 0 || y > r.height || x > this.host.chart.timeScale().width()) return null;
    return { x, y };
  }

  private anchorAt(p: Point): Anchor | null {
    const logical = this.host.chart.timeScale().coordinateToLogical(p.x);
    const price = this.host.priceSeries().coordinateToPrice(p.y);
    if (logical === null || price === null) return null;
    const time = logicalToTime(this.host.bars(), logical, this.host.tfSeconds());
    return time === null ? null : { time, price };
  }

  private toScreen(a: Anchor): Point | null {
    const l = timeToLogical(this.host.bars(), a.time, this.host.tfSeconds());
    const x = l === null ? null : this.host.chart.timeScale().logicalToCoordinate(l as Logical);
    const y = this.host.priceSeries().priceToCoordinate(a.price);
    return x === null || y === null ? null : { x, y };
  }

  private scene(): DrawingScene {
    const drawings: ScreenDrawing[] = [];
    const labels: DrawingScene['labels'][number][] = [];
    const series = this.host.priceSeries();
    const draft = this.gesture?.kind === 'move' ? this.gesture.draft : null;
    for (const stored of this.drawings()) {
      const d = draft && draft.id === stored.id ? draft : stored;
      if (d.kind === 'hline') {
        const y = series.priceToCoordinate(d.price);
        if (y === null) continue;
        drawings.push({ id: d.id, kind: 'hline', y });
        labels.push({ y, text: formatPrice(d.price, this.host.precision()), selected: d.id === this.selected });
      } else {
        const a = this.toScreen(d.a);
        const b = this.toScreen(d.b);
        if (a && b) drawings.push({ id: d.id, kind: 'trend', a, b });
      }
    }
    let pending: DrawingScene['pending'] = null;
    if (this.pending) {
      const a = this.toScreen(this.pending.a);
      const b = this.toScreen(this.pending.b);
      if (a && b) pending = { a, b };
    }
    return { drawings, labels, selected: this.selected, pending };
  }

  // ---- pointer ------------------------------------------------------------------------------

  private onDown = (e: PointerEvent): void => {
    if (this.destroyed || e.button !== 0) return;
    const p = this.local(e);
    if (!p) return;
    switch (this.tool) {
      case 'hline': {
        const a = this.anchorAt(p);
        if (!a) return;
        this.own(e, { kind: 'swallow' });
        this.addLevel(a.price);
        this.done();
        return;
      }
      case 'alert': {
        const a = this.anchorAt(p);
        if (!a) return;
        this.own(e, { kind: 'swallow' });
        this.onAlertAt?.(a.price);
        this.done();
        return;
      }
      case 'trend': {
        const a = this.anchorAt(p);
        if (!a) return;
        if (this.pending) {
          // The second click of a click-click line.
          this.own(e, { kind: 'swallow' });
          this.finishTrend(a);
          return;
        }
        this.pending = { a, b: a };
        this.own(e, { kind: 'trend', from: p });
        this.primitive.invalidate();
        return;
      }
      case 'cursor': {
        const screen = this.primitive.current().drawings;
        const tolerance = e.pointerType === 'touch' ? TOUCH_TOLERANCE_PX : HIT_TOLERANCE_PX;
        const hit = hitTest(screen, p, tolerance, this.selected);
        if (!hit) {
          if (this.selected) this.select(null);
          return; // the chart pans
        }
        const original = this.drawings().find((d) => d.id === hit.id);
        if (!original) return;
        this.select(hit.id);
        this.own(e, { kind: 'move', id: hit.id, part: hit.part, from: p, original, draft: original });
        return;
      }
    }
  };

  private onMove = (e: PointerEvent): void => {
    const g = this.gesture;
    if (!g) return;
    const p = this.local(e) ?? this.clamped(e);
    if (g.kind === 'trend' && this.pending) {
      const b = this.anchorAt(p);
      if (b) this.pending = { ...this.pending, b };
      this.primitive.invalidate();
    } else if (g.kind === 'move') {
      const ts = this.host.chart.timeScale();
      const series = this.host.priceSeries();
      const l0 = ts.coordinateToLogical(g.from.x);
      const l1 = ts.coordinateToLogical(p.x);
      const dLogical = l0 === null || l1 === null ? 0 : l1 - l0;
      const dy = p.y - g.from.y;
      const bars = this.host.bars();
      const tf = this.host.tfSeconds();
      g.draft = moveDrawing(g.original, g.part, (a) => {
        const y = series.priceToCoordinate(a.price);
        const price = y === null ? a.price : (series.coordinateToPrice(y + dy) ?? a.price);
        const l = timeToLogical(bars, a.time, tf);
        const time = l === null ? a.time : (logicalToTime(bars, l + dLogical, tf) ?? a.time);
        return { time, price };
      });
      this.primitive.invalidate();
    }
  };

  private onUp = (e: PointerEvent): void => {
    const g = this.gesture;
    if (g?.kind === 'move') this.onMove(e); // where it was let go
    this.release();
    if (!g) return;
    if (g.kind === 'move') {
      if (g.draft !== g.original) this.store.replace(this.host.pair(), g.draft);
      this.gesture = null;
      this.primitive.invalidate();
    } else if (g.kind === 'trend' && this.pending) {
      const p = this.local(e) ?? this.clamped(e);
      this.gesture = null;
      // Dragged: the line ends where the pointer was let go. A click: the second click ends it.
      if (Math.hypot(p.x - g.from.x, p.y - g.from.y) >= CLICK_SLOP_PX) {
        const b = this.anchorAt(p);
        if (b) this.finishTrend(b);
      }
    } else this.gesture = null;
  };

  private onCancel = (): void => {
    this.cancelGesture();
    this.pending = null;
    this.primitive.invalidate();
  };

  /** The pointer moving over the chart: the pending line's second end follows it. */
  private onHover = (e: PointerEvent): void => {
    if (this.gesture || !this.pending) return;
    const p = this.local(e);
    const b = p && this.anchorAt(p);
    if (!b) return;
    this.pending = { ...this.pending, b };
    this.primitive.invalidate();
  };

  private finishTrend(b: Anchor): void {
    const a = this.pending!.a;
    this.pending = null;
    const d: Drawing = { id: newDrawingId(), kind: 'trend', a, b };
    this.store.add(this.host.pair(), d);
    this.select(d.id);
    this.done();
  }

  /** A point outside the plot, pulled back to its edge (a drag past the axis). */
  private clamped(e: { clientX: number; clientY: number }): Point {
    const pane = this.host.chart.panes()[0]?.getHTMLElement();
    const r = pane?.getBoundingClientRect() ?? { left: 0, top: 0, height: 0 };
    const w = this.host.chart.timeScale().width();
    return { x: Math.max(0, Math.min(w, e.clientX - r.left)), y: Math.max(0, Math.min(r.height, e.clientY - r.top)) };
  }

  /** The layer takes this press: the chart neither pans nor zooms until it ends. */
  private own(e: PointerEvent, gesture: Gesture): void {
    e.preventDefault();
    e.stopPropagation();
    this.gesture = gesture;
    if (!this.owning) {
      this.owning = true;
      this.host.chart.applyOptions({ handleScroll: false, handleScale: false });
      window.addEventListener('pointermove', this.onMove);
      window.addEventListener('pointerup', this.onUp);
      window.addEventListener('pointercancel', this.onCancel);
    }
  }

  private release(): void {
    if (!this.owning) return;
    this.owning = false;
    window.removeEventListener('pointermove', this.onMove);
    window.removeEventListener('pointerup', this.onUp);
    window.removeEventListener('pointercancel', this.onCancel);
    if (!this.destroyed) this.host.chart.applyOptions({ handleScroll: true, handleScale: true });
  }

  private cancelGesture(): void {
    this.release();
    this.gesture = null;
  }

  /** The mouse and touch events of a press the layer took never reach the chart. */
  private swallow = (e: Event): void => {
    if (this.owning) e.stopPropagation();
  };

  private onTouchMove = (e: TouchEvent): void => {
    if (this.owning && e.cancelable) e.preventDefault();
  };

  private onContextMenuEvent = (e: MouseEvent): void => {
    const p = this.local(e);
    if (!p || !this.onContextMenu) return;
    const price = this.host.priceSeries().coordinateToPrice(p.y);
    if (price === null) return;
    e.preventDefault();
    this.onContextMenu({ clientX: e.clientX, clientY: e.clientY, price });
  };

  private select(id: string | null): void {
    if (id === this.selected) return;
    this.selected = id;
    this.primitive.invalidate();
    this.onSelect?.(id);
  }

  private done(): void {
    if (this.tool !== 'cursor') this.setTool('cursor');
    this.onToolDone?.();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.cancelGesture();
    this.destroyed = true;
    this.unsubscribe();
    const el = this.host.element;
    el.removeEventListener('pointerdown', this.onDown, true);
    el.removeEventListener('pointermove', this.onHover);
    el.removeEventListener('mousedown', this.swallow, true);
    el.removeEventListener('touchstart', this.swallow, true);
    el.removeEventListener('touchmove', this.onTouchMove);
    el.removeEventListener('contextmenu', this.onContextMenuEvent);
  }
}
