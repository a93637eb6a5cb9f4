/**
 * A stand-in for lightweight-charts in the simulated DOM (it needs a real canvas): it keeps each
 * series' data as the real one does (setData / update by time) and counts the calls, so tests
 * can check what a chart was told to draw and how often. Scales are linear: price p is at
 * y = (PRICE_TOP - p) * PX_PER_PRICE, logical index l at x = l * BAR_PX.
 */
type Point = { time: number } & Record<string, unknown>;

export const PRICE_TOP = 1.2;
export const PX_PER_PRICE = 1000;
export const BAR_PX = 10;

interface Primitive {
  attached?(p: unknown): void;
  detached?(): void;
  updateAllViews?(): void;
}

export class FakeSeries {
  data: Point[] = [];
  setDataCalls = 0;
  updateCalls = 0;
  options: Record<string, unknown>;
  priceLines: { options: Record<string, unknown>; removed: boolean }[] = [];
  primitives: Primitive[] = [];
  order = 0;
  constructor(
    readonly type: string,
    options: Record<string, unknown> | undefined,
    public paneIndex: number,
    readonly chart: FakeChart,
  ) {
    this.options = { ...options };
  }
  setData(data: Point[]): void {
    this.setDataCalls++;
    this.data = data.map((d) => ({ ...d }));
  }
  update(point: Point, historical = false): void {
    this.updateCalls++;
    const i = this.data.findIndex((d) => d.time === point.time);
    const last = this.data[this.data.length - 1];
    // As the real series: historical updates replace an existing point, others replace the last or append.
    if (historical) {
      if (i < 0) throw new Error('Cannot update non-existing data point when historicalUpdate is true');
      this.data[i] = { ...point };
    } else if (last && point.time === last.time) this.data[this.data.length - 1] = { ...point };
    else if (!last || point.time > last.time) this.data.push({ ...point });
    else throw new Error('Cannot update oldest data');
  }
  applyOptions(o: Record<string, unknown>): void {
    Object.assign(this.options, o);
  }
  createPriceLine(o: Record<string, unknown>) {
    const line = { options: { ...o }, removed: false, applyOptions: (x: Record<string, unknown>) => Object.assign(line.options, x) };
    this.priceLines.push(line);
    return line;
  }
  removePriceLine(line: { removed: boolean }): void {
    line.removed = true;
    this.priceLines = this.priceLines.filter((l) => l !== line);
  }
  attachPrimitive(p: Primitive): void {
    this.primitives.push(p);
    p.attached?.({ chart: this.chart, series: this, requestUpdate: () => p.updateAllViews?.() });
  }
  detachPrimitive(p: Primitive): void {
    this.primitives = this.primitives.filter((x) => x !== p);
    p.detached?.();
  }
  setSeriesOrder(order: number): void {
    this.order = order;
  }
  priceToCoordinate(price: number): number {
    return (PRICE_TOP - price) * PX_PER_PRICE;
  }
  coordinateToPrice(y: number): number {
    return PRICE_TOP - y / PX_PER_PRICE;
  }
}

export class FakeChart {
  series: FakeSeries[] = [];
  removed = false;
  crosshairHandlers: ((p: unknown) => void)[] = [];
  rangeHandlers: ((r: unknown) => void)[] = [];
  options: Record<string, unknown> = {};
  paneElement: HTMLElement;
  constructor(readonly container: HTMLElement) {
    this.paneElement = document.createElement('div');
    // The price pane at the page's top left, 800 x 600 (the simulated DOM lays nothing out).
    this.paneElement.getBoundingClientRect = () => ({ left: 0, top: 0, right: 800, bottom: 600, width: 800, height: 600, x: 0, y: 0, toJSON() {} }) as DOMRect;
    container.append(this.paneElement);
  }
  addSeries(def: string, options?: Record<string, unknown>, paneIndex = 0): FakeSeries {
    const s = new FakeSeries(def, options, paneIndex, this);
    this.series.push(s);
    return s;
  }
  removeSeries(s: FakeSeries): void {
    this.series = this.series.filter((x) => x !== s);
  }
  panes() {
    const count = Math.max(0, ...this.series.map((s) => s.paneIndex)) + 1;
    return Array.from({ length: count }, (_, i) => ({ setStretchFactor() {}, getHTMLElement: () => (i === 0 ? this.paneElement : null) }));
  }
  priceScale() {
    return { applyOptions() {} };
  }
  timeScale() {
    return {
      applyOptions() {},
      scrollToRealTime() {},
      fitContent() {},
      width: () => 800,
      options: () => ({ barSpacing: 7 }),
      getVisibleRange: () => null,
      coordinateToLogical: (x: number) => x / BAR_PX,
      logicalToCoordinate: (l: number) => l * BAR_PX,
      subscribeVisibleLogicalRangeChange: (h: (r: unknown) => void) => this.rangeHandlers.push(h),
      unsubscribeVisibleLogicalRangeChange() {},
    };
  }
  subscribeCrosshairMove(h: (p: unknown) => void): void {
    this.crosshairHandlers.push(h);
  }
  unsubscribeCrosshairMove(): void {}
  applyOptions(o: Record<string, unknown>): void {
    Object.assign(this.options, o);
  }
  remove(): void {
    this.removed = true;
  }
}

export const charts: FakeChart[] = [];

export function createChart(container: HTMLElement): FakeChart {
  const c = new FakeChart(container);
  charts.push(c);
  return c;
}

export function createSeriesMarkers(series: FakeSeries, markers: unknown[] = []) {
  let list = [...markers];
  const api = {
    setMarkers: (m: unknown[]) => void (list = [...m]),
    markers: () => list,
    detach: () => series.detachPrimitive(api as never),
  };
  series.attachPrimitive(api as never);
  return api;
}

export const createTextWatermark = () => ({ applyOptions() {} });
export const CandlestickSeries = 'Candlestick';
export const BarSeries = 'Bar';
export const AreaSeries = 'Area';
export const HistogramSeries = 'Histogram';
export const LineSeries = 'Line';
export const ColorType = { Solid: 'solid' };
export const CrosshairMode = { Normal: 0 };
export const LineStyle = { Solid: 0, Dotted: 1, Dashed: 2 };
export const TickMarkType = { Year: 0, Month: 1, DayOfMonth: 2, Time: 3, TimeWithSeconds: 4 };
