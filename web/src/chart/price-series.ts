import {
  AreaSeries,
  BarSeries,
  CandlestickSeries,
  LineSeries,
  LineStyle,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesPrimitive,
  type SeriesType,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { HeikinAshiTrack } from '../lib/heikin-ashi.js';
import type { SeriesChanges } from '../lib/time-series.js';
import type { Candle } from '../lib/types.js';
import type { ChartType } from './chart-types.js';
import { COLORS } from './theme.js';

/** A longer changed tail than this is set whole (one setData beats many updates). */
const MAX_TAIL_UPDATES = 64;

const t = (s: number) => s as UTCTimestamp;

/**
 * The chart's price series in the chosen type: candles, bars, a line or an area through the
 * closes, or Heikin-Ashi bars computed from the same candles (lib/heikin-ashi.ts). A change of
 * type makes a new Lightweight Charts series; what was attached to the old one (drawings, the
 * countdown, alert lines and markers) is attached again through `onReplaced`.
 */
export class PriceSeries {
  series: ISeriesApi<SeriesType>;
  private readonly ha = new HeikinAshiTrack();
  /** The newest time the series holds: an update() before it replaces a point, never inserts one. */
  private drawnLast = Number.NEGATIVE_INFINITY;
  /** Heikin-Ashi's last value is not a price: the real last price is a line of its own. */
  private lastPriceLine: IPriceLine | null = null;
  private readonly primitives = new Set<ISeriesPrimitive<Time>>();
  private priceFormat: { type: 'price'; precision: number; minMove: number } = { type: 'price', precision: 5, minMove: 1e-5 };
  /** Called with the new series after a change of type. */
  onReplaced: ((series: ISeriesApi<SeriesType>) => void) | null = null;

  constructor(
    private readonly chart: IChartApi,
    private type: ChartType,
  ) {
    this.series = this.create();
  }

  get chartType(): ChartType {
    return this.type;
  }

  setType(type: ChartType, bars: readonly Candle[]): void {
    if (type === this.type) return;
    const old = this.series;
    for (const p of this.primitives) old.detachPrimitive(p);
    this.lastPriceLine = null;
    this.type = type;
    this.series = this.create();
    this.chart.removeSeries(old);
    // Below the volume and the overlays, as the first series was.
    this.series.setSeriesOrder(0);
    for (const p of this.primitives) this.series.attachPrimitive(p);
    this.setBars(bars);
    this.onReplaced?.(this.series);
  }

  /** Attached now and to every later series. */
  attach(primitive: ISeriesPrimitive<Time>): void {
    this.primitives.add(primitive);
    this.series.attachPrimitive(primitive);
  }

  detach(primitive: ISeriesPrimitive<Time>): void {
    if (this.primitives.delete(primitive)) this.series.detachPrimitive(primitive);
  }

  setPriceFormat(precision: number): void {
    this.priceFormat = { type: 'price', precision, minMove: 10 ** -precision };
    this.series.applyOptions({ priceFormat: this.priceFormat });
  }

  /** Every bar again. */
  setBars(bars: readonly Candle[]): void {
    const shown = this.type === 'heikin-ashi' ? this.ha.reset(bars) : bars;
    (this.series as ISeriesApi<'Candlestick'>).setData(shown.map((b) => this.point(b)) as never);
    this.drawnLast = bars.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
    this.updateLastPrice(bars);
  }

  /**
   * What changed in the candles since the last call (`all` is the whole series after it). Bars
   * are updated in place or appended; Heikin-Ashi recomputes from the oldest changed bar on, since
   * each of its bars depends on the one before.
   */
  apply(changes: SeriesChanges<Candle>, all: readonly Candle[]): void {
    if (changes.reset) {
      this.setBars(all);
      return;
    }
    if (changes.points.length === 0) return;
    let points: readonly Candle[] = changes.points;
    if (this.type === 'heikin-ashi') {
      const from = indexOf(all, changes.points[0]!.time);
      if (from < 0 || all.length - from > MAX_TAIL_UPDATES) {
        this.setBars(all);
        return;
      }
      points = this.ha.updateFrom(all, from);
    }
    for (const bar of points) {
      const historical = bar.time < this.drawnLast;
      (this.series as ISeriesApi<'Candlestick'>).update(this.point(bar) as never, historical);
      if (bar.time > this.drawnLast) this.drawnLast = bar.time;
    }
    this.updateLastPrice(all);
  }

  /** The bar as the series type takes it. */
  private point(b: Candle) {
    if (this.type === 'line' || this.type === 'area') return { time: t(b.time), value: b.close };
    return { time: t(b.time), open: b.open, high: b.high, low: b.low, close: b.close };
  }

  private updateLastPrice(bars: readonly Candle[]): void {
    if (this.type !== 'heikin-ashi') return;
    const last = bars.at(-1);
    if (!last) return;
    const color = last.close >= last.open ? COLORS.up : COLORS.down;
    if (this.lastPriceLine) this.lastPriceLine.applyOptions({ price: last.close, color });
    else this.lastPriceLine = this.series.createPriceLine({ price: last.close, color, lineWidth: 1, lineStyle: LineStyle.Dotted, axisLabelVisible: true, title: '' });
  }

  private create(): ISeriesApi<SeriesType> {
    const common = { priceLineColor: COLORS.crosshair, priceFormat: this.priceFormat };
    switch (this.type) {
      case 'candles':
      case 'heikin-ashi':
        return this.chart.addSeries(CandlestickSeries, {
          ...common,
          upColor: COLORS.up,
          downColor: COLORS.down,
          borderVisible: false,
          wickUpColor: COLORS.up,
          wickDownColor: COLORS.down,
          // Heikin-Ashi's close is an average: the real price is shown by a line of its own.
          ...(this.type === 'heikin-ashi' ? { lastValueVisible: false, priceLineVisible: false } : {}),
        });
      case 'bars':
        return this.chart.addSeries(BarSeries, { ...common, upColor: COLORS.up, downColor: COLORS.down, thinBars: false });
      case 'line':
        return this.chart.addSeries(LineSeries, { ...common, color: COLORS.accent, lineWidth: 2 });
      case 'area':
        return this.chart.addSeries(AreaSeries, { ...common, lineColor: COLORS.accent, topColor: 'rgba(47, 129, 247, 0.32)', bottomColor: 'rgba(47, 129, 247, 0.02)', lineWidth: 2 });
    }
  }

  remove(): void {
    for (const p of this.primitives) this.series.detachPrimitive(p);
    this.primitives.clear();
  }
}

/** Index of the bar at `time` in bars sorted by time; -1 when absent. */
export function indexOf(bars: readonly { time: number }[], time: number): number {
  let lo = 0;
  let hi = bars.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = bars[mid]!.time;
    if (v === time) return mid;
    if (v < time) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
