import { beforeEach, describe, expect, test, vi } from 'vitest';
import { indicatorChoice, type IndicatorChoice } from '../lib/indicators.js';
import type { StreamItem } from '../lib/stream-client.js';
import type { Candle, SeqTick, SubscribeOk } from '../lib/types.js';
import * as lwc from '../test/fake-lightweight-charts.js';
import { heikinAshi } from '../lib/heikin-ashi.js';
import type { Alert } from '../lib/types.js';
import { ChartController, withLevels } from './chart-controller.js';
import { DrawScheduler } from './draw-scheduler.js';

vi.mock('lightweight-charts', () => import('../test/fake-lightweight-charts.js'));

const choices = (...ids: string[]) => ids.map((id) => indicatorChoice(id)!) as IndicatorChoice[];
const bar = (time: number, close: number, volume = 1): Candle => ({ time, open: close, high: close, low: close, close, volume });
let seq = 0;
const tick = (ms: number, price: number): SeqTick => ({ pair: 'EUR/USD_otc', price, timestamp: ms as SeqTick['timestamp'], seq: ++seq });
const snapshot = (candles: Candle[], indicators?: SubscribeOk['indicators']): StreamItem => ({
  kind: 'snapshot',
  resync: false,
  ack: { ok: true, pair: 'EUR/USD_otc', ticks: [], candles, seq: 0, timeframe: '1M', ...(indicators ? { indicators } : {}) },
});

function setup(ids: string[] = []) {
  const host = document.createElement('div');
  const legend = document.createElement('div');
  document.body.append(host, legend);
  const painted: SeqTick[] = [];
  const client = { notePainted: (t: readonly SeqTick[]) => painted.push(...t) };
  const c = new ChartController(host, legend, client as never);
  c.setContext('EUR/USD_otc', '1M', choices(...ids));
  const chart = lwc.charts[lwc.charts.length - 1]!;
  const [candles, volume] = chart.series as [lwc.FakeSeries, lwc.FakeSeries];
  return { c, chart, candles, volume, legend, painted };
}

beforeEach(() => {
  lwc.charts.length = 0;
  // Every change handed over at once (no animation frames here); the frame logic has its own test.
  DrawScheduler.requestFrame = (cb) => cb();
});

describe('ChartController', () => {
  test('a frame of many ticks is one update of the bar they touch', () => {
    const { c, candles, volume, painted } = setup();
    c.onItems([snapshot([bar(60, 1.1), bar(120, 1.2)])]);
    expect(candles.data.map((d) => d.time)).toEqual([60, 120]);
    const updatesBefore = candles.updateCalls;
    c.onItems([{ kind: 'ticks', ticks: [tick(121_000, 1.25), tick(122_000, 1.15), tick(123_000, 1.22)] }]);
    expect(candles.updateCalls - updatesBefore).toBe(1);
    expect(candles.data[1]).toEqual({ time: 120, open: 1.2, high: 1.25, low: 1.15, close: 1.22 });
    expect(volume.data[1]).toMatchObject({ time: 120, value: 4 });
    expect(painted).toHaveLength(3);
  });

  test('the server candle corrects the bar; a new bucket appends', () => {
    const { c, candles } = setup();
    c.onItems([snapshot([bar(60, 1.1)])]);
    c.onItems([
      { kind: 'ticks', ticks: [tick(61_000, 1.3), tick(125_000, 1.4)] },
      { kind: 'candle', event: { pair: 'EUR/USD_otc', timeframe: '1M', candle: { time: 60, open: 1.1, high: 1.3, low: 1.0, close: 1.29, volume: 5 } } },
    ]);
    expect(candles.data).toEqual([
      { time: 60, open: 1.1, high: 1.3, low: 1.0, close: 1.29 },
      { time: 120, open: 1.4, high: 1.4, low: 1.4, close: 1.4 },
    ]);
  });

  test('ticks before the snapshot and other timeframes are ignored', () => {
    const { c, candles } = setup();
    c.onItems([{ kind: 'ticks', ticks: [tick(61_000, 9)] }]);
    c.onItems([{ ...snapshot([bar(60, 1)]), ack: { ...(snapshot([bar(60, 1)]) as { ack: SubscribeOk }).ack, timeframe: '5M' } } as StreamItem]);
    expect(candles.data).toEqual([]);
    expect(c.live).toBe(false);
  });

  test('indicators: overlay on the price pane, oscillators in panes of their own, values from snapshot and events', async () => {
    const { c, chart, legend } = setup(['ema20', 'rsi14', 'macd']);
    const byPane = chart.series.map((s) => s.paneIndex);
    expect(byPane).toEqual([0, 0, 0, 1, 2, 2, 2]); // candles, volume, EMA | RSI | MACD x3
    c.onItems([
      snapshot([bar(60, 1.1), bar(120, 1.2)], {
        'ema(period=20)': [{ time: 120, value: 1.15 }],
        'rsi(period=14)': [{ time: 120, value: 55.5 }],
        'macd(fast=12,signal=9,slow=26)': [{ time: 120, value: { macd: 0.001, signal: 0.0005, histogram: 0.0005 } }],
      }),
    ]);
    c.onItems([
      {
        kind: 'candle',
        event: { pair: 'EUR/USD_otc', timeframe: '1M', candle: bar(180, 1.3), indicators: { 'ema(period=20)': 1.2, 'rsi(period=14)': 61.25, 'macd(fast=12,signal=9,slow=26)': null } },
      },
    ]);
    const rsi = chart.series[3]!;
    expect(rsi.data).toEqual([
      { time: 120, value: 55.5 },
      { time: 180, value: 61.25 },
    ]);
    expect(rsi.priceLines).toHaveLength(2); // 30 and 70
    expect(chart.series[4]!.data[1]).toEqual({ time: 180 }); // no MACD value yet: whitespace
    await new Promise((r) => setTimeout(r, 150)); // the legend follows at most ten times a second
    expect(legend.textContent).toContain('RSI 14');
    expect(legend.textContent).toContain('61.25');
    expect(legend.textContent).toMatch(/C\s*1\.30000/);
  });

  test('a short history (a 1D view of 4 bars) is set, never streamed into bars the series lacks', () => {
    const { c, candles, volume } = setup();
    c.setContext('EUR/USD_otc', '1D', []);
    const days = [0, 1, 2, 3].map((d) => bar(1_732_060_800 + d * 86_400, 1.08 + d / 100, 900));
    const statuses: unknown[] = [];
    c.onStatus = (st) => statuses.push({ ...st });
    expect(() => c.mergeHistory(days)).not.toThrow();
    expect(candles.data.map((d) => d.time)).toEqual(days.map((d) => d.time));
    expect(volume.data).toHaveLength(4);
    expect(statuses).toEqual([{ bars: 4, live: false, error: null }]);
    // The snapshot and live ticks go on from there, also when the snapshot has one bar more.
    const today = bar(1_732_060_800 + 4 * 86_400, 1.2, 10);
    c.onItems([{ ...snapshot([...days, today]), ack: { ...(snapshot([...days, today]) as { ack: SubscribeOk }).ack, timeframe: '1D' } } as StreamItem]);
    c.onItems([{ kind: 'ticks', ticks: [tick((today.time + 60) * 1000, 1.25)] }]);
    expect(candles.data.map((d) => d.time)).toEqual([...days, today].map((d) => d.time));
    expect(candles.data[4]).toMatchObject({ high: 1.25, close: 1.25 });
    expect(c.live).toBe(true);
  });

  test('bars after the newest are appended in order, whatever the history adds at once', () => {
    const { c, candles } = setup();
    c.onItems([snapshot([bar(60, 1.1)])]);
    // Three new bars merged from history after the live one: updates in time order, no throw.
    c.mergeHistory([bar(120, 1.2), bar(180, 1.3), bar(240, 1.4)]);
    expect(candles.data.map((d) => d.time)).toEqual([60, 120, 180, 240]);
    // An older page: one setData, the newest bars kept.
    c.mergeHistory([bar(0, 1.0)]);
    expect(candles.data.map((d) => d.time)).toEqual([0, 60, 120, 180, 240]);
    expect(c.oldestTime()).toBe(0);
  });

  test('many events between two frames: the first drawn at once, the rest in the frame, painted ticks noted', () => {
    const frames: (() => void)[] = [];
    DrawScheduler.requestFrame = (cb) => frames.push(cb);
    const { c, candles, painted } = setup();
    c.onItems([snapshot([bar(60, 1.1)])]);
    expect(candles.data).toHaveLength(1); // the first change after a frame: at once
    const prices = [1.11, 1.12, 1.13, 1.14, 1.15, 1.16, 1.17, 1.18, 1.19, 1.185];
    for (const [i, p] of prices.entries()) c.onItems([{ kind: 'ticks', ticks: [tick(61_000 + i, p)] }]);
    expect(candles.data[0]).toMatchObject({ close: 1.1 }); // the rest wait for the frame
    expect(frames).toHaveLength(1);
    const updates = candles.updateCalls;
    frames.shift()!();
    expect(candles.updateCalls - updates).toBe(1); // one update for the ten ticks
    expect(candles.data[0]).toMatchObject({ close: 1.185, high: 1.19 });
    expect(painted).toHaveLength(10);
  });

  test('switching pair or timeframe starts the data over', () => {
    const { c, candles } = setup();
    c.onItems([snapshot([bar(60, 1.1)])]);
    c.setContext('EUR/USD_otc', '5M', []);
    expect(candles.data).toEqual([]);
    expect(c.live).toBe(false);
    expect(c.demand).toEqual({ timeframe: '5M', indicators: [] });
  });

  test('chart types: the same candles as bars, a line or an area of closes; drawings and countdown follow the new series', () => {
    const { c, chart } = setup();
    c.onItems([snapshot([bar(60, 1.1), { time: 120, open: 1.1, high: 1.3, low: 1.0, close: 1.2, volume: 3 }])]);
    const before = chart.series[0]!;
    c.setChartType('line');
    const line = chart.series.find((s) => s.type === 'Line' && s.paneIndex === 0 && s.order === 0)!;
    expect(chart.series.includes(before)).toBe(false);
    expect(line.data).toEqual([
      { time: 60, value: 1.1 },
      { time: 120, value: 1.2 },
    ]);
    expect(line.primitives).toHaveLength(2); // the drawings and the countdown
    expect(before.primitives).toHaveLength(0);
    c.setChartType('bars');
    const bars = chart.series.find((s) => s.type === 'Bar')!;
    expect(bars.data[1]).toEqual({ time: 120, open: 1.1, high: 1.3, low: 1.0, close: 1.2 });
    c.setChartType('area');
    expect(chart.series.find((s) => s.type === 'Area')!.data.map((d) => d.value)).toEqual([1.1, 1.2]);
    expect(c.chartType).toBe('area');
    c.onItems([{ kind: 'ticks', ticks: [tick(121_000, 1.25)] }]);
    expect(chart.series.find((s) => s.type === 'Area')!.data[1]).toEqual({ time: 120, value: 1.25 });
  });

  test('Heikin-Ashi: computed from the candles, the forming bar live, the real last price shown apart', () => {
    const { c, chart } = setup();
    const candles = [
      { time: 60, open: 10, high: 12, low: 9, close: 11, volume: 5 },
      { time: 120, open: 11, high: 13, low: 10, close: 12.5, volume: 6 },
    ];
    c.onItems([snapshot(candles)]);
    c.setChartType('heikin-ashi');
    const ha = chart.series.find((s) => s.type === 'Candlestick' && s.order === 0)!;
    const shown = () => ha.data.map(({ time, open, high, low, close }) => ({ time, open, high, low, close }));
    const expected = (bars: Candle[]) => heikinAshi(bars).map(({ time, open, high, low, close }) => ({ time, open, high, low, close }));
    expect(shown()).toEqual(expected(candles));
    expect(ha.options).toMatchObject({ lastValueVisible: false, priceLineVisible: false });
    // A tick moves the forming bar: its Heikin-Ashi bar follows, the one before stays.
    const updates = ha.updateCalls;
    c.onItems([{ kind: 'ticks', ticks: [tick(121_000, 13.5)] }]);
    expect(ha.updateCalls - updates).toBe(1);
    expect(shown()).toEqual(expected(c.bars() as Candle[]));
    expect(c.bars()[1]).toMatchObject({ high: 13.5, close: 13.5 });
    // The next bar opens from the previous Heikin-Ashi bar.
    c.onItems([{ kind: 'ticks', ticks: [tick(185_000, 13)] }]);
    expect(shown()).toEqual(expected(c.bars() as Candle[]));
    expect(ha.data).toHaveLength(3);
    // The real last price: a line of its own at the last candle's close.
    expect(ha.priceLines.at(-1)!.options).toMatchObject({ price: 13, axisLabelVisible: true });
  });

  test('the countdown to the bar\'s close, in the legend and on the price scale', async () => {
    const { c, chart, legend } = setup();
    c.onItems([snapshot([bar(60, 1.1)])]);
    // 40 s left in a 1M bar; a 5M bar at the same moment has 100 s.
    const now = Date.parse('2024-11-22T12:03:20Z');
    expect(c.countdownText(now)).toBe('0:40');
    c.setContext('EUR/USD_otc', '5M', []);
    c.onItems([{ ...snapshot([bar(300, 1.1)]), ack: { ...(snapshot([bar(300, 1.1)]) as { ack: SubscribeOk }).ack, timeframe: '5M' } } as StreamItem]);
    expect(c.countdownText(now)).toBe('1:40');
    await new Promise((r) => setTimeout(r, 150));
    expect(legend.querySelector('.legend-countdown')!.textContent).toMatch(/^\d+:\d\d$/);
    const label = chart.series[0]!.primitives.find((p) => 'shown' in p) as unknown as { shown: string; priceAxisViews(): { text(): string; coordinate(): number }[] };
    expect(label.shown).toMatch(/^\d+:\d\d$/);
    // Just under the last price (1.1 is at y = 100 in the stand-in's scale).
    expect(label.priceAxisViews()[0]!.coordinate()).toBeCloseTo(101, 6);
  });

  test('an oscillator\'s levels are kept in view by its autoscale', () => {
    const { chart } = setup(['rsi14']);
    const rsi = chart.series.find((s) => s.paneIndex === 1)!;
    const provider = rsi.options.autoscaleInfoProvider as ReturnType<typeof withLevels>;
    expect(provider(() => ({ priceRange: { minValue: 42, maxValue: 61 } }))).toEqual({ priceRange: { minValue: 30, maxValue: 70 } });
    expect(provider(() => ({ priceRange: { minValue: 12, maxValue: 61 } }))).toEqual({ priceRange: { minValue: 12, maxValue: 70 } });
    expect(provider(() => null)).toEqual({ priceRange: { minValue: 30, maxValue: 70 } });
    expect(rsi.priceLines.map((l) => l.options.price)).toEqual([30, 70]);
    // Overlays keep the price scale's own autoscale.
    const { chart: other } = setup(['ema20']);
    expect(other.series[2]!.options.autoscaleInfoProvider).toBeUndefined();
  });

  test('changed indicator settings rebuild that indicator\'s series under its new key', () => {
    const { c, chart } = setup(['rsi14']);
    const first = chart.series.find((s) => s.paneIndex === 1)!;
    c.setIndicators([indicatorChoice('rsi14', { params: { period: 21 }, levels: [25, 75] })!]);
    const next = chart.series.find((s) => s.paneIndex === 1)!;
    expect(next).not.toBe(first);
    expect(next.priceLines.map((l) => l.options.price)).toEqual([25, 75]);
    expect(c.demand).toEqual({ timeframe: '1M', indicators: [{ name: 'rsi', period: 21 }] });
  });

  test('alerts: a waiting alert is a line at its level; a fired one a marker on the bar of its tick', () => {
    const { c, chart } = setup();
    c.onItems([snapshot([bar(60, 1.1), bar(120, 1.12)])]);
    const alert = (over: Partial<Alert>): Alert => ({ id: 1, pair: 'EUR/USD_otc', condition: 'above', price: 1.13, note: null, createdAt: 0, triggeredAt: null, trigger: null, ...over });
    c.setAlerts([alert({}), alert({ id: 2, pair: 'GBP/USD_otc' })]);
    const price = chart.series[0]!;
    expect(price.priceLines.map((l) => [l.options.price, l.options.title])).toEqual([[1.13, 'Alert ▲']]);
    c.setAlerts([alert({ triggeredAt: 130_500, trigger: { price: 1.1301, timestamp: 130_000 } })]);
    expect(price.priceLines).toEqual([]);
    expect(c.alertsShown().markers).toEqual([expect.objectContaining({ time: 120, price: 1.1301, position: 'atPriceMiddle', shape: 'arrowUp' })]);
    // Another chart type: the marker moves to the new series.
    c.setChartType('line');
    expect(c.alertsShown().markers).toHaveLength(1);
  });
});
