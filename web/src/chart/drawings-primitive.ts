import type {
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  ISeriesPrimitive,
  ISeriesPrimitiveAxisView,
  PrimitiveHoveredItem,
  SeriesAttachedParameter,
  Time,
} from 'lightweight-charts';
import { hitTest, type Point, type ScreenDrawing } from '../lib/drawing-geometry.js';
import { COLORS } from './theme.js';

type Target = Parameters<IPrimitivePaneRenderer['draw']>[0];

/** What the layer hands the primitive to draw, in pane pixels. */
export interface DrawingScene {
  drawings: readonly ScreenDrawing[];
  /** Price labels of the levels on the price scale. */
  labels: readonly { y: number; text: string; selected: boolean }[];
  selected: string | null;
  /** A trend line being placed (its second end follows the pointer). */
  pending: { a: Point; b: Point } | null;
}

const EMPTY: DrawingScene = { drawings: [], labels: [], selected: null, pending: null };
export const HIT_TOLERANCE_PX = 6;

/**
 * Draws the levels and trend lines of a chart (a Lightweight Charts series primitive: a pane view
 * for the lines and handles, price-axis labels for the levels) and tells the library what the
 * pointer is over, so the cursor shows it can be moved.
 */
export class DrawingsPrimitive implements ISeriesPrimitive<Time> {
  private scene: DrawingScene = EMPTY;
  private requestUpdate: (() => void) | null = null;
  private axisViews: readonly ISeriesPrimitiveAxisView[] = [];
  private readonly paneView: IPrimitivePaneView;
  private readonly paneViewList: readonly IPrimitivePaneView[];

  /** `project` works out the scene from the drawings and the chart's scales, when they change. */
  constructor(private readonly project: () => DrawingScene) {
    const renderer: IPrimitivePaneRenderer = { draw: (target) => this.draw(target) };
    this.paneView = { zOrder: () => 'top', renderer: () => renderer };
    this.paneViewList = [this.paneView];
  }

  attached(param: SeriesAttachedParameter<Time>): void {
    this.requestUpdate = param.requestUpdate;
  }

  detached(): void {
    this.requestUpdate = null;
  }

  /** Redraw (the drawings, the selection or the pending line changed). */
  invalidate(): void {
    this.requestUpdate?.();
  }

  updateAllViews(): void {
    const before = this.scene.labels;
    this.scene = this.project();
    const labels = this.scene.labels;
    // The library caches by the array: a new one only when the labels changed.
    if (labels.length === before.length && labels.every((l, i) => l.y === before[i]!.y && l.text === before[i]!.text && l.selected === before[i]!.selected)) return;
    this.axisViews = labels.map((l) => ({
      coordinate: () => l.y,
      text: () => l.text,
      textColor: () => '#0b0e14',
      backColor: () => (l.selected ? COLORS.drawingSelected : COLORS.drawing),
      tickVisible: () => true,
    }));
  }

  paneViews(): readonly IPrimitivePaneView[] {
    return this.paneViewList;
  }

  priceAxisViews(): readonly ISeriesPrimitiveAxisView[] {
    return this.axisViews;
  }

  hitTest(x: number, y: number): PrimitiveHoveredItem | null {
    const hit = hitTest(this.scene.drawings, { x, y }, HIT_TOLERANCE_PX, this.scene.selected);
    if (!hit) return null;
    return { externalId: `drawing:${hit.id}`, zOrder: 'top', cursorStyle: hit.part === 'body' ? 'move' : 'crosshair', hitTestPriority: hit.part === 'body' ? 1 : 2, distance: hit.distance };
  }

  /** The scene last drawn (for tests and the layer's own hit testing). */
  current(): DrawingScene {
    return this.scene;
  }

  private draw(target: Target): void {
    const { drawings, selected, pending } = this.scene;
    if (drawings.length === 0 && !pending) return;
    target.useMediaCoordinateSpace(({ context: ctx, mediaSize }) => {
      ctx.save();
      ctx.lineCap = 'round';
      for (const d of drawings) {
        const on = d.id === selected;
        ctx.strokeStyle = on ? COLORS.drawingSelected : COLORS.drawing;
        ctx.lineWidth = on ? 2 : 1.5;
        ctx.beginPath();
        if (d.kind === 'hline') {
          ctx.moveTo(0, d.y);
          ctx.lineTo(mediaSize.width, d.y);
        } else {
          ctx.moveTo(d.a.x, d.a.y);
          ctx.lineTo(d.b.x, d.b.y);
        }
        ctx.stroke();
        if (on) {
          const handles = d.kind === 'hline' ? [{ x: mediaSize.width / 2, y: d.y }] : [d.a, d.b];
          for (const h of handles) handle(ctx, h);
        }
      }
      if (pending) {
        ctx.strokeStyle = COLORS.drawingSelected;
        ctx.lineWidth = 1.5;
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(pending.a.x, pending.a.y);
        ctx.lineTo(pending.b.x, pending.b.y);
        ctx.stroke();
        ctx.setLineDash([]);
        handle(ctx, pending.a);
      }
      ctx.restore();
    });
  }
}

function handle(ctx: CanvasRenderingContext2D, p: Point): void {
  ctx.beginPath();
  ctx.arc(p.x, p.y, 4.5, 0, Math.PI * 2);
  ctx.fillStyle = '#0b0e14';
  ctx.fill();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = COLORS.drawingSelected;
  ctx.stroke();
}
