import {
  createChart,
  createTextWatermark,
  HistogramSeries,
  LineSeries,
  LineStyle,
  type AutoscaleInfo,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type ITextWatermarkPluginApi,
  type LineData,
  type LogicalRange,
  type MouseEventParams,
  type SeriesType,
  type Time,
  type UTCTimestamp,
  type WhitespaceData,
} from 'lightweight-charts';
import { MAX_CANDLES } from '../../../src/shared/limits.js';
import { api, type Fetch } from '../lib/api.js';
import { CandleModel } from '../lib/candle-model.js';
import { CandleRepair } from '../lib/candle-repair.js';
import { barCloseIn, formatCountdown } from '../lib/countdown.js';
import { drawingStore, type DrawingStore } from '../lib/drawing-store.js';
import { pricePrecision } from '../lib/format.js';
import { choiceSignature, indicatorKey, indicatorRequest, lineValue, type IndicatorChoice } from '../lib/indicators.js';
import type { Demand, StreamClient, StreamItem, Watcher } from '../lib/stream-client.js';
import { Throttle } from '../lib/throttle.js';
import { formatDateTime, type TimeZoneChoice } from '../lib/time-zone.js';
import { TimeSeries } from '../lib/time-series.js';
import { timeframeSeconds, type Timeframe } from '../lib/timeframes.js';
import type { Alert, Candle, IndicatorValue, SeqTick } from '../lib/types.js';
import { AlertOverlay } from './alert-overlay.js';
import type { ChartType } from './chart-types.js';
import { CountdownLabel } from './countdown-label.js';
import { DrawingLayer } from './drawing-layer.js';
import { DrawScheduler } from './draw-scheduler.js';
import { legendModel, type LegendModel } from './legend-model.js';
import { PriceSeries } from './price-series.js';
import { chartOptions, COLORS } from './theme.js';
import { tickMarkLabel } from './tick-marks.js';

interface IndicatorPoint {
  time: number;
  value: IndicatorValue | null;
}

interface IndicatorTrack {
  choice: IndicatorChoice;
  key: string;
  signature: string;
  data: TimeSeries<IndicatorPoint>;
  series: ISeriesApi<SeriesType>[];
  paneIndex: number;
  /** The newest time its series hold: an update() before it replaces a point, never inserts one. */
  drawnLast: number;
}

export interface ChartStatus {
  /** Bars on the chart. */
  bars: number;
  /** The live snapshot is in. */
  live: boolean;
  /** The server refused the subscription. */
  error: string | null;
}

const t = (s: number) => s as UTCTimestamp;
let firstDrawMarked = false;
const LEGEND_INTERVAL_MS = 100;

export interface ChartControllerOptions {
  compact?: boolean;
  /** The library's attribution logo (once a page is enough). */
  attribution?: boolean;
  zone?: TimeZoneChoice;
  chartType?: ChartType;
  drawings?: DrawingStore;
  /** For the re-reads of closed bars (GET /api/candles, /api/indicators); default: the page's fetch. */
  fetch?: Fetch;
  /** How long a closed bar waits for the server's candle event before it is read over HTTP. */
  repairGraceMs?: number;
}

/**
 * One Lightweight Charts chart (v5) and its data: the price series (candles, bars, line, area or
 * Heikin-Ashi), tick-count volume, overlay indicators on the price pane, oscillators in panes of
 * their own, a legend drawn straight into the DOM, the countdown to the bar's close, the pair's
 * drawings and its price alerts. It is a stream Watcher: live items go to `series.update()`; only
 * what changed is drawn. React never sees the data, only `ChartStatus` changes.
 */
export class ChartController implements Watcher {
  readonly chart: IChartApi;
  demand: Demand | null = null;
  readonly drawings: DrawingLayer;
  private readonly price: PriceSeries;
  private readonly volume: ISeriesApi<'Histogram'>;
  private readonly countdown = new CountdownLabel();
  private countdownTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly alertOverlay: AlertOverlay;
  private alerts: readonly Alert[] = [];
  private model: CandleModel;
  private tracks: IndicatorTrack[] = [];
  private pair = '';
  private tf: Timeframe = '1M';
  private precision = 5;
  /** The price format follows the first price seen (a pair's name alone does not tell). */
  private precisionFromData = false;
  private hasSnapshot = false;
  private hovering: number | null = null;
  private status: ChartStatus = { bars: 0, live: false, error: null };
  private watermark: ITextWatermarkPluginApi<Time> | null = null;
  private legendRows: HTMLElement[] = [];
  private legendHtml: string[] = [];
  private readonly legendThrottle = new Throttle(LEGEND_INTERVAL_MS, () => this.refreshLegend());
  private destroyed = false;
  private scrolledToEnd = false;
  /** The newest bar time the volume series holds (see flush). */
  private drawnLast = Number.NEGATIVE_INFINITY;
  private zone: TimeZoneChoice;
  private readonly compact: boolean;
  /** Ticks in the model not yet handed to the series (their paint is timed once they are). */
  private unpainted: SeqTick[] = [];
  private readonly draws = new DrawScheduler((inFrame) => this.draw(inFrame));
  /** Reads closed bars the server's events did not confirm (see CandleRepair). */
  private readonly repair: CandleRepair;
  private readonly fetch: Fetch | undefined;
  /** Asked for when the user scrolls near the oldest bar. */
  onNeedOlder: (() => void) | null = null;
  onStatus: ((status: ChartStatus) => void) | null = null;

  constructor(
    private readonly container: HTMLElement,
    private readonly legend: HTMLElement | null,
    private readonly client: StreamClient | null,
    options: ChartControllerOptions = {},
  ) {
    this.compact = options.compact ?? false;
    this.fetch = options.fetch;
    this.repair = new CandleRepair({
      model: () => this.model,
      read: async (limit, signal) => (await api.candles(this.pair, this.tf, limit, { fetch: this.fetch, signal })).candles,
      repaired: (times) => {
        this.draws.changed();
        void this.rereadIndicators(times);
      },
      graceMs: options.repairGraceMs ?? 1500,
      minIntervalMs: 2000,
      maxRetryMs: 10_000,
      maxLimit: MAX_CANDLES,
      now: () => Date.now(),
      log: (m) => console.info(`[quflx] ${this.pair} ${this.tf}: ${m}`),
    });
    this.chart = createChart(container, chartOptions(this.compact, options.attribution ?? !this.compact));
    this.zone = options.zone ?? 'utc';
    this.applyZone();
    this.price = new PriceSeries(this.chart, options.chartType ?? 'candles');
    this.volume = this.chart.addSeries(
      HistogramSeries,
      { priceFormat: { type: 'volume' }, priceScaleId: 'volume', lastValueVisible: false, priceLineVisible: false, title: '' },
      0,
    );
    this.chart.priceScale('volume', 0).applyOptions({ scaleMargins: { top: 0.82, bottom: 0 }, visible: false });
    this.model = new CandleModel(60);
    this.alertOverlay = new AlertOverlay(this.price.series);
    this.drawings = new DrawingLayer(
      {
        chart: this.chart,
        element: container,
        priceSeries: () => this.price.series,
        bars: () => this.model.series.all(),
        tfSeconds: () => this.model.tfSeconds,
        pair: () => this.pair,
        precision: () => this.precision,
      },
      options.drawings ?? drawingStore,
    );
    this.price.attach(this.drawings.primitive);
    this.price.attach(this.countdown);
    this.price.onReplaced = (series) => {
      this.alertOverlay.rebind(series);
      this.placeAlerts();
      this.updateCountdown();
    };
    this.chart.subscribeCrosshairMove(this.onCrosshair);
    this.chart.timeScale().subscribeVisibleLogicalRangeChange(this.onRange);
    this.scheduleCountdown();
  }

  /** Axis, crosshair label and legend times in the page's time zone. */
  setTimeZone(zone: TimeZoneChoice): void {
    if (zone === this.zone) return;
    this.zone = zone;
    this.applyZone();
    this.legendHtml = [];
    this.refreshLegend();
  }

  private applyZone(): void {
    const zone = this.zone;
    this.chart.applyOptions({
      timeScale: { tickMarkFormatter: (time: Time, type: Parameters<typeof tickMarkLabel>[1]) => tickMarkLabel(time as number, type, zone) },
      localization: { timeFormatter: (time: Time) => formatDateTime((time as number) * 1000, zone, this.tf.endsWith('S') ? 'seconds' : 'minutes') },
    });
  }

  /** Shows another pair or timeframe: the data starts over. Indicators are set with setIndicators. */
  setContext(pair: string, tf: Timeframe, indicators: readonly IndicatorChoice[]): void {
    const changed = pair !== this.pair || tf !== this.tf;
    if (changed) {
      this.pair = pair;
      this.tf = tf;
      this.precision = pricePrecision(pair);
      this.precisionFromData = false;
      this.model = new CandleModel(timeframeSeconds(tf));
      this.repair.reset();
      this.hasSnapshot = false;
      this.scrolledToEnd = false;
      this.hovering = null;
      this.applyPrecision();
      this.price.setBars([]);
      this.volume.setData([]);
      this.drawnLast = Number.NEGATIVE_INFINITY;
      this.chart.applyOptions({ timeScale: { secondsVisible: tf.endsWith('S') } });
      this.setWatermark(pair, tf);
      this.drawings.reset();
      this.placeAlerts();
      this.updateCountdown();
      this.setStatus({ bars: 0, live: false, error: null });
    }
    this.setIndicators(indicators, changed);
  }

  /** Candles, bars, line, area or Heikin-Ashi: the same candles, drawn another way. */
  setChartType(type: ChartType): void {
    this.price.setType(type, this.model.series.all());
  }

  get chartType(): ChartType {
    return this.price.chartType;
  }

  /** The alerts of every pair (this chart shows its own pair's). */
  setAlerts(alerts: readonly Alert[]): void {
    this.alerts = alerts;
    this.placeAlerts();
  }

  private placeAlerts(): void {
    const mine = this.alerts.filter((a) => a.pair === this.pair);
    this.alertOverlay.set(mine, this.model.tfSeconds, (t) => this.model.series.has(t));
  }

  /** What the alert overlay draws (for tests and the page's inspection). */
  alertsShown(): ReturnType<AlertOverlay['shown']> {
    return this.alertOverlay.shown();
  }

  /** The indicators shown; their series are rebuilt when the list changes. */
  setIndicators(choices: readonly IndicatorChoice[], force = false): void {
    const ids = choices.map(choiceSignature).join(',');
    const before = this.tracks.map((tr) => tr.signature).join(',');
    this.demand = { timeframe: this.tf, indicators: choices.map(indicatorRequest) };
    if (ids === before && !force) return;
    for (const tr of this.tracks) for (const s of tr.series) this.chart.removeSeries(s);
    const kept = new Map(this.tracks.map((tr) => [tr.signature, tr.data]));
    this.tracks = [];
    let pane = 0;
    for (const choice of choices) {
      const paneIndex = choice.placement === 'overlay' ? 0 : ++pane;
      const levels = choice.levels ?? [];
      const series = choice.lines.map((line, i) => {
        const common = {
          priceFormat: { type: 'price' as const, precision: choice.digits ?? this.precision, minMove: 10 ** -(choice.digits ?? this.precision) },
          lastValueVisible: choice.placement === 'pane' && i === choice.lines.length - 1,
          priceLineVisible: false,
          title: '',
          // An oscillator's levels (RSI 30/70, ...) stay in view whatever the values do.
          ...(choice.placement === 'pane' && i === 0 && levels.length > 0 ? { autoscaleInfoProvider: withLevels(levels) } : {}),
        };
        if (line.kind === 'histogram') {
          return this.chart.addSeries(HistogramSeries, { ...common, color: line.color }, paneIndex) as ISeriesApi<SeriesType>;
        }
        return this.chart.addSeries(
          LineSeries,
          { ...common, color: line.color, lineWidth: (line.width ?? 2) as 1 | 2, crosshairMarkerVisible: !this.compact, lineStyle: LineStyle.Solid },
          paneIndex,
        ) as ISeriesApi<SeriesType>;
      });
      for (const level of choice.levels ?? []) {
        series[0]?.createPriceLine({ price: level, color: COLORS.level, lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: false, title: '' });
      }
      const signature = choiceSignature(choice);
      const data = (!force && kept.get(signature)) || new TimeSeries<IndicatorPoint>();
      const track: IndicatorTrack = { choice, key: indicatorKey(choice), signature, data, series, paneIndex, drawnLast: Number.NEGATIVE_INFINITY };
      this.tracks.push(track);
      this.setTrackData(track);
    }
    const panes = this.chart.panes();
    panes.forEach((p, i) => p.setStretchFactor(i === 0 ? (this.compact ? 3 : Math.max(2.4, 4 - pane * 0.4)) : 1));
    this.buildLegend();
    this.refreshLegend();
  }

  // ---- data in --------------------------------------------------------------------------------

  /** History from GET /api/candles (and /api/indicators): fills what the chart lacks. */
  mergeHistory(candles: readonly Candle[], indicators: Record<string, IndicatorPoint[]> = {}): void {
    this.model.mergeHistory(candles);
    for (const tr of this.tracks) {
      const points = indicators[tr.key];
      if (points) tr.data.merge(points, !this.model.live);
    }
    this.flush();
  }

  onItems(items: readonly StreamItem[]): void {
    for (const item of items) {
      switch (item.kind) {
        case 'snapshot': {
          const ack = item.ack;
          if (ack.timeframe !== this.tf) break;
          this.model.applySnapshot(ack.candles);
          for (const tr of this.tracks) {
            const points = ack.indicators?.[tr.key];
            if (points) tr.data.replaceFrom(points);
          }
          this.hasSnapshot = true;
          this.status.error = null;
          break;
        }
        case 'ticks':
          if (!this.hasSnapshot) break;
          for (const tick of item.ticks) this.model.applyTick(tick);
          for (const tick of item.ticks) this.unpainted.push(tick);
          break;
        case 'candle': {
          const ev = item.event;
          if (!this.hasSnapshot || ev.timeframe !== this.tf) break;
          this.model.applyCandle(ev.candle);
          if (ev.indicators) {
            for (const tr of this.tracks) {
              const v = ev.indicators[tr.key];
              if (v !== undefined) tr.data.set({ time: ev.candle.time, value: v });
            }
          }
          break;
        }
        case 'gap':
          // Ticks stepped over: the bars they fell in are read again once closed.
          if (this.hasSnapshot) this.model.doubt(item.fromMs, item.toMs);
          break;
        case 'error':
          this.setStatus({ ...this.status, error: item.error });
          break;
      }
    }
    this.draws.changed();
    this.repair.check();
  }

  /** Bars set to the server's after a re-read: their indicator values are read again too. */
  private async rereadIndicators(times: readonly number[]): Promise<void> {
    const model = this.model;
    const newest = model.series.last()?.time;
    if (this.tracks.length === 0 || newest === undefined) return;
    const wanted = new Set(times);
    const limit = Math.min(MAX_CANDLES, Math.round((newest - Math.min(...times)) / model.tfSeconds) + 2);
    const { pair, tf } = this;
    await Promise.all(
      this.tracks.map(async (tr) => {
        try {
          const { values } = await api.indicator(pair, tf, tr.choice.name, tr.choice.params, limit, { fetch: this.fetch });
          if (this.model !== model || !this.tracks.includes(tr)) return;
          for (const p of values) if (wanted.has(p.time)) tr.data.set({ time: p.time, value: p.value });
        } catch {
          // The bar is right; its indicator value stays as it was until the next snapshot.
        }
      }),
    );
    if (this.model === model) this.draws.changed();
  }

  private draw(inFrame: boolean): void {
    this.flush();
    if (this.unpainted.length === 0) return;
    const ticks = this.unpainted;
    this.unpainted = [];
    this.client?.notePainted(ticks, inFrame);
  }

  // ---- drawing ------------------------------------------------------------------------------

  /** Applies what changed since the last flush: update() per touched bar, or one setData. */
  private flush(): void {
    if (this.destroyed) return;
    if (!this.precisionFromData && this.model.series.length > 0) {
      this.precisionFromData = true;
      const digits = pricePrecision(this.pair, this.model.series.last()!.close);
      if (digits !== this.precision) {
        this.precision = digits;
        this.applyPrecision();
      }
    }
    // update() only replaces a bar the series has or appends after its newest one (points come
    // oldest first); anything else is a reset and one setData. Should the library refuse an
    // update all the same, the whole series is set again rather than left half drawn.
    const changes = this.model.series.takeChanges();
    try {
      if (changes.reset) this.setCandleData();
      else {
        this.price.apply(changes, this.model.series.all());
        for (const bar of changes.points) {
          const historical = bar.time < this.drawnLast;
          this.volume.update(toVolumeData(bar), historical);
          if (bar.time > this.drawnLast) this.drawnLast = bar.time;
        }
      }
    } catch (err) {
      console.info('[quflx] chart data set again after a refused update:', (err as Error).message);
      this.setCandleData();
    }
    if (changes.reset || changes.points.length > 0) this.updateCountdown();
    for (const tr of this.tracks) {
      const ch = tr.data.takeChanges();
      try {
        if (ch.reset) this.setTrackData(tr);
        else {
          for (const p of ch.points) {
            const historical = p.time < tr.drawnLast;
            tr.choice.lines.forEach((line, i) => tr.series[i]!.update(linePoint(p, line.output, line.kind === 'histogram'), historical));
            if (p.time > tr.drawnLast) tr.drawnLast = p.time;
          }
        }
      } catch {
        this.setTrackData(tr);
      }
    }
    const bars = this.model.series.length;
    if (bars > 0 && !this.scrolledToEnd) {
      this.scrolledToEnd = true;
      if (!firstDrawMarked) {
        firstDrawMarked = true;
        performance.mark('quflx:first-bars');
      }
      const ts = this.chart.timeScale();
      // A short history (a 1D view of a few days) fills the width; a long one shows its end.
      if (bars * (ts.options().barSpacing || 7) < ts.width() * 0.6) ts.fitContent();
      else ts.scrollToRealTime();
    }
    if (bars !== this.status.bars || this.model.live !== this.status.live) {
      // Only the transitions matter to React (empty <-> data, loading -> live).
      const was = this.status;
      const next = { bars, live: this.model.live, error: this.status.error };
      this.status = next;
      if ((was.bars === 0) !== (bars === 0) || was.live !== next.live) this.onStatus?.(next);
    }
    // The legend follows the last bar ten times a second: readable, and the page is not laid
    // out again every frame.
    if (this.hovering === null) this.legendThrottle.run();
  }

  private applyPrecision(): void {
    const priceFormat = { type: 'price' as const, precision: this.precision, minMove: 10 ** -this.precision };
    this.price.setPriceFormat(this.precision);
    for (const tr of this.tracks) {
      if (tr.choice.digits !== null) continue;
      for (const s of tr.series) s.applyOptions({ priceFormat });
    }
  }

  private setCandleData(): void {
    const bars = this.model.series.all();
    this.price.setBars(bars);
    this.volume.setData(bars.map(toVolumeData));
    this.drawnLast = bars.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
    // Markers sit on bars: after new bars (a page of history, a snapshot) they are placed again.
    this.alertOverlay.placeMarkers(this.model.tfSeconds, (t) => this.model.series.has(t));
  }

  // ---- countdown ----------------------------------------------------------------------------

  /** Ticks on each second boundary (so 0:01 turns to 0:00 as the bar closes, not up to a second late). */
  private scheduleCountdown(): void {
    if (this.destroyed) return;
    const delay = 1000 - (Date.now() % 1000) + 5;
    this.countdownTimer = setTimeout(() => {
      this.updateCountdown();
      this.refreshLegend();
      this.scheduleCountdown();
    }, delay);
  }

  /** The time left in the current bar: on the price scale under the last price, and in the legend. */
  countdownText(now = Date.now()): string {
    const last = this.model.series.last();
    if (!last) return '';
    return formatCountdown(barCloseIn(now, this.model.tfSeconds), this.model.tfSeconds);
  }

  private updateCountdown(): void {
    const last = this.model.series.last();
    this.countdown.set(this.countdownText(), last?.close ?? null, last && last.close < last.open ? COLORS.down : COLORS.up);
  }

  private setTrackData(tr: IndicatorTrack): void {
    const points = tr.data.all();
    tr.drawnLast = points.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
    tr.choice.lines.forEach((line, i) => {
      // A line or a histogram series: both take these points (whitespace included).
      (tr.series[i] as ISeriesApi<'Line'>).setData(points.map((p) => linePoint(p, line.output, line.kind === 'histogram')));
    });
  }

  private setStatus(status: ChartStatus): void {
    this.status = status;
    this.onStatus?.(status);
  }

  getStatus(): ChartStatus {
    return this.status;
  }

  private setWatermark(pair: string, tf: string): void {
    const pane = this.chart.panes()[0];
    if (!pane) return;
    const lines = [{ text: `${pair.replace(/_otc$/i, '')} · ${tf}`, color: COLORS.watermark, fontSize: this.compact ? 28 : 56, fontStyle: '600' }];
    if (this.watermark) this.watermark.applyOptions({ lines });
    else this.watermark = createTextWatermark(pane, { horzAlign: 'center', vertAlign: 'center', lines });
  }

  // ---- legend -------------------------------------------------------------------------------

  private buildLegend(): void {
    const root = this.legend;
    if (!root) return;
    root.replaceChildren();
    this.legendRows = [];
    this.legendHtml = [];
    const main = document.createElement('div');
    main.className = 'legend-row legend-main';
    root.append(main);
    this.legendRows.push(main);
    for (const tr of this.tracks) {
      if (this.compact && tr.choice.placement === 'pane') continue;
      const row = document.createElement('div');
      row.className = `legend-row legend-${tr.choice.placement}`;
      row.dataset.indicator = tr.choice.id;
      root.append(row);
      this.legendRows.push(row);
    }
    this.placePaneLegends();
  }

  /** Puts each oscillator's legend row at the top of its pane. */
  placePaneLegends(): void {
    if (!this.legend) return;
    const panes = this.chart.panes();
    const box = this.container.getBoundingClientRect();
    for (const row of this.legendRows) {
      const tr = this.tracks.find((x) => x.choice.id === row.dataset.indicator);
      if (!tr || tr.choice.placement !== 'pane') continue;
      const el = panes[tr.paneIndex]?.getHTMLElement();
      if (!el) continue;
      row.style.top = `${el.getBoundingClientRect().top - box.top + 4}px`;
    }
  }

  private onCrosshair = (param: MouseEventParams<Time>): void => {
    this.hovering = param.time === undefined || param.point === undefined ? null : (param.time as number);
    this.refreshLegend();
  };

  /** What the legend shows now: the bar under the crosshair, else the latest. */
  legendModel(): LegendModel {
    const time = this.hovering ?? this.model.series.last()?.time;
    return legendModel({
      pair: this.pair,
      timeframe: this.tf,
      countdown: this.countdownText() || null,
      compact: this.compact,
      precision: this.precision,
      zone: this.zone,
      bar: time === undefined ? undefined : this.model.series.get(time),
      indicators: this.tracks.map((tr) => ({ choice: tr.choice, value: time === undefined ? undefined : tr.data.get(time)?.value })),
      colors: { up: COLORS.up, down: COLORS.down },
    });
  }

  private refreshLegend(): void {
    if (!this.legend || this.legendRows.length === 0) return;
    const m = this.legendModel();
    const cls = m.direction ?? '';
    const title = m.title ? `<span class="legend-title">${escapeHtml(m.title.pair)}</span><span class="legend-muted">${m.title.timeframe}</span>` : '';
    const countdown = m.countdown ? `<span class="legend-countdown" title="Time left in this bar">${m.countdown}</span>` : '';
    const html =
      title +
      countdown +
      (m.time ? `<span class="legend-muted legend-time">${m.time}</span>` : '') +
      m.ohlc.map((v) => `<span>${v.label} <b class="${cls}">${v.text}</b></span>`).join('') +
      (m.change ? `<span class="${cls}">${m.change}</span>` : '') +
      (m.volume !== null ? `<span>V <b>${m.volume}</b></span>` : '');
    this.setRow(0, this.legendRows[0]!, html);
    for (let i = 1; i < this.legendRows.length; i++) {
      const row = this.legendRows[i]!;
      const ind = m.indicators.find((x) => x.id === row.dataset.indicator);
      if (!ind) continue;
      const values = ind.values.map((v) => `<b style="color:${v.color}">${v.text}</b>`).join(' ');
      this.setRow(i, row, `<span class="legend-name">${escapeHtml(ind.name)}</span>${values}`);
    }
  }

  /** Writes a legend row only when its text changed (it is refreshed every frame). */
  private setRow(i: number, row: HTMLElement, html: string): void {
    if (this.legendHtml[i] === html) return;
    this.legendHtml[i] = html;
    row.innerHTML = html;
  }

  // ---- scrolling back -----------------------------------------------------------------------

  private onRange = (range: LogicalRange | null): void => {
    if (!range || this.model.series.length === 0) return;
    // Within 20 bars of the oldest one: time to load more.
    if (range.from < 20) this.onNeedOlder?.();
  };

  /** Time of the oldest bar loaded (the history pages back from it), or null. */
  oldestTime(): number | null {
    return this.model.series.first()?.time ?? null;
  }

  /** Bars loaded, oldest first (for tests and the history hook). */
  bars(): readonly Candle[] {
    return this.model.series.all();
  }

  /** The price series' data as the chart holds it (for the end-to-end test). */
  seriesData(): readonly unknown[] {
    return this.price.series.data();
  }

  /** The price series as the library holds it (its type and data), for the page's inspection. */
  priceSeriesApi(): ISeriesApi<SeriesType> {
    return this.price.series;
  }

  /** The visible time span in epoch ms, from the first visible bar's open to the last one's close. */
  visibleRange(): { fromMs: number; toMs: number } | null {
    const r = this.chart.timeScale().getVisibleRange();
    if (!r) return null;
    const from = r.from as number;
    const to = r.to as number;
    return { fromMs: from * 1000, toMs: (to + this.model.tfSeconds) * 1000 - 1 };
  }

  indicatorValues(id: string): readonly IndicatorPoint[] {
    return this.tracks.find((tr) => tr.choice.id === id)?.data.all() ?? [];
  }

  get live(): boolean {
    return this.model.live;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.countdownTimer) clearTimeout(this.countdownTimer);
    this.repair.close();
    this.drawings.destroy();
    this.price.remove();
    this.draws.cancel();
    this.legendThrottle.cancel();
    this.chart.unsubscribeCrosshairMove(this.onCrosshair);
    this.chart.timeScale().unsubscribeVisibleLogicalRangeChange(this.onRange);
    this.chart.remove();
  }
}

/**
 * An autoscale that keeps an oscillator's levels in view: the values' range widened to the levels
 * (and the levels alone before there are values).
 */
export function withLevels(levels: readonly number[]) {
  const lo = Math.min(...levels);
  const hi = Math.max(...levels);
  return (original: () => AutoscaleInfo | null): AutoscaleInfo | null => {
    const base = original();
    if (!base || !base.priceRange) return { priceRange: { minValue: lo, maxValue: hi } };
    return { ...base, priceRange: { minValue: Math.min(base.priceRange.minValue, lo), maxValue: Math.max(base.priceRange.maxValue, hi) } };
  };
}

function toVolumeData(c: Candle): HistogramData<Time> {
  return { time: t(c.time), value: c.volume, color: c.close >= c.open ? COLORS.upVolume : COLORS.downVolume };
}

/** One line's point; whitespace where the indicator has no value yet; histograms coloured by sign. */
function linePoint(p: IndicatorPoint, output: string | null, histogram: boolean): LineData<Time> | HistogramData<Time> | WhitespaceData<Time> {
  const v = lineValue(p.value, output);
  if (v === null) return { time: t(p.time) };
  if (histogram) return { time: t(p.time), value: v, color: v >= 0 ? 'rgba(38, 166, 154, 0.6)' : 'rgba(239, 83, 80, 0.6)' };
  return { time: t(p.time), value: v };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
