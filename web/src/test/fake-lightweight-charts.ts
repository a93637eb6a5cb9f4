/**
 * A stand-in for lightweight-charts in the simulated DOM (it needs a real canvas): it keeps each
 * series' data as the real one does (setData / update by time) and counts the calls, so tests
 * can check what a chart was told to draw and how often.
 */
type Point = { time: number } & Record<string, unknown>;

export class FakeSeries {
  data: Point[] = [];
  setDataCalls = 0;
  updateCalls = 0;
  options: Record<string, unknown>;
  priceLines: unknown[] = [];
  constructor(
    readonly type: string,
    options: Record<string, unknown> | undefined,
    public paneIndex: number,
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
  createPriceLine(o: unknown) {
    this.priceLines.push(o);
    return { applyOptions() {} };
  }
}

export class FakeChart {
  series: FakeSeries[] = [];
  removed = false;
  crosshairHandlers: ((p: unknown) => void)[] = [];
  rangeHandlers: ((r: unknown) => void)[] = [];
  constructor(readonly container: HTMLElement) {}
  addSeries(def: string, options?: Record<string, unknown>, paneIndex = 0): FakeSeries {
    const s = new FakeSeries(def, options, paneIndex);
    this.series.push(s);
    return s;
  }
  removeSeries(s: FakeSeries): void {
    this.series = this.series.filter((x) => x !== s);
  }
  panes() {
    const count = Math.max(0, ...this.series.map((s) => s.paneIndex)) + 1;
    return Array.from({ length: count }, () => ({ setStretchFactor() {}, getHTMLElement: () => null }));
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
      subscribeVisibleLogicalRangeChange: (h: (r: unknown) => void) => this.rangeHandlers.push(h),
      unsubscribeVisibleLogicalRangeChange() {},
    };
  }
  subscribeCrosshairMove(h: (p: unknown) => void): void {
    this.crosshairHandlers.push(h);
  }
  unsubscribeCrosshairMove(): void {}
  applyOptions(): void {}
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

export const createTextWatermark = () => ({ applyOptions() {} });
export const CandlestickSeries = 'Candlestick';
export const HistogramSeries = 'Histogram';
export const LineSeries = 'Line';
export const ColorType = { Solid: 'solid' };
export const CrosshairMode = { Normal: 0 };
export const LineStyle = { Solid: 0, Dotted: 1, Dashed: 2 };
export const TickMarkType = { Year: 0, Month: 1, DayOfMonth: 2, Time: 3, TimeWithSeconds: 4 };
