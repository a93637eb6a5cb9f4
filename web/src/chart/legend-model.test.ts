import { describe, expect, test } from 'vitest';
import { indicatorChoice, type IndicatorChoice } from '../lib/indicators.js';
import { legendModel, type LegendInput } from './legend-model.js';

const colors = { up: 'UP', down: 'DOWN' };
const day = { time: Date.UTC(2024, 10, 22) / 1000, open: 1.08, high: 1.0905, low: 1.0791, close: 1.0854, volume: 123_456 };
const base: LegendInput = { pair: 'EUR/USD_otc', timeframe: '1D', compact: false, precision: 5, zone: 'utc', bar: day, indicators: [], colors };

describe('legendModel', () => {
  test('reads <pair> <TF>, the bar time in the zone, OHLC to the precision, change and volume', () => {
    expect(legendModel({ ...base, countdown: '8:30:00' })).toEqual({
      title: { pair: 'EUR/USD_otc', timeframe: '1D' },
      countdown: '8:30:00',
      time: '2024-11-22 00:00',
      direction: 'up',
      ohlc: [
        { label: 'O', text: '1.08000' },
        { label: 'H', text: '1.09050' },
        { label: 'L', text: '1.07910' },
        { label: 'C', text: '1.08540' },
      ],
      change: '+0.500%',
      volume: '123.5K',
      indicators: [],
    });
  });

  test('a down bar; seconds on second timeframes; no bar yet', () => {
    const down = legendModel({ ...base, timeframe: '5S', bar: { ...day, time: day.time + 5, close: 1.0746 } });
    expect(down.direction).toBe('down');
    expect(down.change).toBe('−0.500%');
    expect(down.time).toBe('2024-11-22 00:00:05');
    expect(legendModel({ ...base, bar: undefined })).toMatchObject({ title: { pair: 'EUR/USD_otc', timeframe: '1D' }, time: null, direction: null, ohlc: [], volume: null });
  });

  test('indicator values per line, with their digits; histograms coloured by sign; blanks as a dash', () => {
    const macd = indicatorChoice('macd')!;
    const rsi = indicatorChoice('rsi14')!;
    const m = legendModel({
      ...base,
      indicators: [
        { choice: rsi, value: 61.2345 },
        { choice: macd, value: { histogram: -0.00012, macd: 0.0004, signal: 0.00052 } },
        { choice: indicatorChoice('ema20')!, value: undefined },
      ],
    });
    expect(m.indicators).toEqual([
      { id: 'rsi14', name: 'RSI 14', values: [{ text: '61.23', color: '#b388ff' }] },
      {
        id: 'macd',
        name: 'MACD 12, 26, 9',
        values: [
          { text: '-0.00012', color: 'DOWN' },
          { text: '0.00040', color: '#2f81f7' },
          { text: '0.00052', color: '#ff9800' },
        ],
      },
      { id: 'ema20', name: 'EMA 20', values: [{ text: '–', color: '#2f81f7' }] },
    ]);
  });

  test('a grid cell (compact): no title, time or change, and no oscillator rows', () => {
    const m = legendModel({ ...base, compact: true, indicators: [{ choice: indicatorChoice('rsi14')! as IndicatorChoice, value: 50 }] });
    expect(m.title).toBeNull();
    expect(m.countdown).toBeNull();
    expect(m.time).toBeNull();
    expect(m.change).toBeNull();
    expect(m.indicators).toEqual([]);
    expect(m.ohlc).toHaveLength(4);
  });
});
