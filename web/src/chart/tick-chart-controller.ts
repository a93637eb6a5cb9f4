import { createChart, createTextWatermark, LineSeries, type IChartApi, type ISeriesApi, type ITextWatermarkPluginApi, type LogicalRange, type MouseEventParams, type Time, type UTCTimestamp } from 'lightweight-charts';
import { formatPrice, pricePrecision } from '../lib/format.js';
import type { StreamClient, StreamItem, Watcher } from '../lib/stream-client.js';
import { Throttle } from '../lib/throttle.js';
import { TickSeries, type TickPoint } from '../lib/tick-series.js';
import { formatDateTime, type TimeZoneChoice } from '../lib/time-zone.js';
import type { ChartStatus } from './chart-controller.js';
import { DrawScheduler } from './draw-scheduler.js';
import { chartOptions, COLORS } from './theme.js';
import { tickMarkLabel } from './tick-marks.js';

const at = (p: TickPoint) => ({ time: p.time as UTCTimestamp, value: p.price });

/**
 * The tick chart (`tf=tick`): a line through every tick of a pair, live. Its history is the
 * subscribe snapshot's recent ticks (joined by seq), and older pages of stored ticks as the user
 * scrolls back (see useTickHistory). A stream Watcher like the candle chart: ticks go to
 * `series.update()` as they arrive.
 */
export class TickChartController implements Watcher {
  readonly chart: IChartApi;
  readonly demand = null;
  private readonly line: ISeriesApi<'Line'>;
  private readonly ticks = new TickSeries();
  private pair = '';
  private precision = 5;
  private precisionFromData = false;
  private status: ChartStatus = { bars: 0, live: false, error: null };
  private hovering: TickPoint | null = null;
  private readonly legendThrottle = new Throttle(100, () => this.refreshLegend());
  private legendHtml = '';
  private scrolledToEnd = false;
  private destroyed = false;
  private zone: TimeZoneChoice;
  /** Points appended to the series' data but not yet handed to the line, and their ticks. */
  private undrawn: TickPoint[] = [];
  private unpainted: { timestamp: number }[] = [];
  private readonly draws = new DrawScheduler((inFrame) => this.draw(inFrame));
  private watermark: ITextWatermarkPluginApi<Time> | null = null;
  onNeedOlder: (() => void) | null = null;
  onStatus: ((status: ChartStatus) => void) | null = null;

  constructor(
    container: HTMLElement,
    private readonly legend: HTMLElement | null,
    private readonly client: StreamClient | null,
    private readonly compact = false,
    attribution = !compact,
    zone: TimeZoneChoice = 'utc',
  ) {
    this.chart = createChart(container, chartOptions(compact, attribution));
    this.chart.applyOptions({ timeScale: { secondsVisible: true, barSpacing: compact ? 2 : 3 } });
    this.line = this.chart.addSeries(LineSeries, { color: '#2f81f7', lineWidth: 2, priceLineColor: '#5d6b7e', crosshairMarkerRadius: 3 });
    this.zone = zone;
    this.applyZone();
    this.chart.subscribeCrosshairMove(this.onCrosshair);
    this.chart.timeScale().subscribeVisibleLogicalRangeChange(this.onRange);
  }

  setTimeZone(zone: TimeZoneChoice): void {
    if (zone === this.zone) return;
    this.zone = zone;
    this.applyZone();
    this.refreshLegend();
  }

  private applyZone(): void {
    const zone = this.zone;
    this.chart.applyOptions({
      timeScale: { tickMarkFormatter: (time: Time, type: Parameters<typeof tickMarkLabel>[1]) => tickMarkLabel(time as number, type, zone) },
      localization: { timeFormatter: (time: Time) => formatDateTime((time as number) * 1000, zone, 'ms') },
    });
  }

  setPair(pair: string): void {
    if (pair === this.pair) return;
    this.pair = pair;
    this.precision = pricePrecision(pair);
    this.precisionFromData = false;
    this.ticks.clear();
    this.line.setData([]);
    this.scrolledToEnd = false;
    this.hovering = null;
    this.applyPrecision();
    const lines = [{ text: `${pair.replace(/_otc$/i, '')} · tick`, color: COLORS.watermark, fontSize: this.compact ? 28 : 56, fontStyle: '600' }];
    const pane = this.chart.panes()[0];
    if (this.watermark) this.watermark.applyOptions({ lines });
    else if (pane) this.watermark = createTextWatermark(pane, { horzAlign: 'center', vertAlign: 'center', lines });
    this.setStatus({ bars: 0, live: false, error: null });
  }

  onItems(items: readonly StreamItem[]): void {
    for (const item of items) {
      if (item.kind === 'snapshot') {
        if (this.ticks.merge(item.ack.ticks)) this.setLine();
        this.status.live = true;
        this.status.error = null;
      } else if (item.kind === 'ticks') {
        if (!this.status.live) continue;
        const added = this.ticks.append(item.ticks);
        for (const p of added) this.undrawn.push(p);
        for (const p of added) this.unpainted.push(p);
      } else if (item.kind === 'error') {
        this.status.error = item.error;
      }
    }
    this.draws.changed();
    this.changed();
  }

  private draw(inFrame: boolean): void {
    for (const p of this.undrawn) this.line.update(at(p));
    this.undrawn = [];
    if (this.unpainted.length === 0) return;
    const ticks = this.unpainted;
    this.unpainted = [];
    this.client?.notePainted(ticks, inFrame);
  }

  /** The recent ticks from GET /api/ticks (before the snapshot, or with no link). */
  mergeRecent(ticks: readonly { timestamp: number; price: number; seq: number | null }[]): void {
    if (this.ticks.merge(ticks)) this.setLine();
    this.changed();
  }

  /** An older page of stored ticks; returns how many were new. */
  prependOlder(ticks: readonly { timestamp: number; price: number; seq?: number | null }[]): number {
    const n = this.ticks.prepend(ticks);
    if (n > 0) this.setLine();
    this.changed();
    return n;
  }

  /** The whole line set again (a merge or an older page); nothing is left to update. */
  private setLine(): void {
    this.undrawn = [];
    this.line.setData(this.ticks.all().map(at));
  }

  oldestTimestamp(): number | null {
    return this.ticks.first()?.timestamp ?? null;
  }

  private changed(): void {
    if (this.destroyed) return;
    const last = this.ticks.last();
    if (last && !this.precisionFromData) {
      this.precisionFromData = true;
      this.precision = pricePrecision(this.pair, last.price);
      this.applyPrecision();
    }
    if (last && !this.scrolledToEnd) {
      this.scrolledToEnd = true;
      this.chart.timeScale().scrollToRealTime();
    }
    // Only the transitions matter to React (empty <-> data, loading -> live, refused).
    this.status = { ...this.status, bars: this.ticks.length };
    const n = this.lastNotified;
    if ((n.bars === 0) !== (this.status.bars === 0) || n.live !== this.status.live || n.error !== this.status.error) this.notify();
    if (!this.hovering) this.legendThrottle.run();
  }

  private lastNotified: ChartStatus = { bars: 0, live: false, error: null };

  private notify(): void {
    this.lastNotified = { ...this.status };
    this.onStatus?.(this.lastNotified);
  }

  private setStatus(status: ChartStatus): void {
    this.status = status;
    this.notify();
  }

  getStatus(): ChartStatus {
    return this.status;
  }

  private applyPrecision(): void {
    this.line.applyOptions({ priceFormat: { type: 'price', precision: this.precision, minMove: 10 ** -this.precision } });
  }

  private onCrosshair = (param: MouseEventParams<Time>): void => {
    if (param.time === undefined || param.point === undefined) this.hovering = null;
    else {
      const time = param.time as number;
      this.hovering = this.ticks.all().find((p) => p.time === time) ?? null;
    }
    this.refreshLegend();
  };

  private refreshLegend(): void {
    if (!this.legend) return;
    const p = this.hovering ?? this.ticks.last();
    const title = this.compact ? '' : `<span class="legend-title">${escapeHtml(this.pair)}</span><span class="legend-muted">Tick</span>`;
    const html =
      title +
      (p
        ? (this.compact ? '' : `<span class="legend-muted legend-time">${formatDateTime(p.timestamp, this.zone, 'ms')}</span>`) +
          `<span>Price <b>${formatPrice(p.price, this.precision)}</b></span>` +
          (p.seq !== null && !this.compact ? `<span class="legend-muted">#${p.seq}</span>` : '')
        : '');
    if (html === this.legendHtml) return;
    this.legendHtml = html;
    this.legend.innerHTML = `<div class="legend-row legend-main">${html}</div>`;
  }

  private onRange = (range: LogicalRange | null): void => {
    if (!range || this.ticks.length === 0) return;
    if (range.from < 20) this.onNeedOlder?.();
  };

  /** Ticks loaded (for the end-to-end test). */
  points(): readonly TickPoint[] {
    return this.ticks.all();
  }

  seriesData(): readonly unknown[] {
    return this.line.data();
  }

  get live(): boolean {
    return this.status.live;
  }

  placePaneLegends(): void {}

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.draws.cancel();
    this.legendThrottle.cancel();
    this.chart.unsubscribeCrosshairMove(this.onCrosshair);
    this.chart.timeScale().unsubscribeVisibleLogicalRangeChange(this.onRange);
    this.chart.remove();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
