import { describe, expect, test } from 'vitest';
import { heikinAshi, HeikinAshiTrack } from './heikin-ashi.js';
import type { Candle } from './types.js';

const c = (time: number, open: number, high: number, low: number, close: number, volume = 1): Candle => ({ time, open, high, low, close, volume });

// Worked by hand:
// bar 1: close (10+12+9+11)/4 = 10.5; open (10+11)/2 = 10.5; high 12; low 9
// bar 2: close (11+13+10+12.5)/4 = 11.625; open (10.5+10.5)/2 = 10.5; high 13; low 10
// bar 3: close (12.5+12.6+11+11.2)/4 = 11.825; open (10.5+11.625)/2 = 11.0625; high 12.6; low 11
// bar 4: close (11.2+11.3+10+10.1)/4 = 10.65; open (11.0625+11.825)/2 = 11.44375, above the
//        candle's own high 11.3, so high = 11.44375; low 10
const CANDLES = [c(60, 10, 12, 9, 11, 5), c(120, 11, 13, 10, 12.5, 6), c(180, 12.5, 12.6, 11, 11.2, 7), c(240, 11.2, 11.3, 10, 10.1, 8)];
const EXPECTED = [
  { time: 60, open: 10.5, high: 12, low: 9, close: 10.5, volume: 5 },
  { time: 120, open: 10.5, high: 13, low: 10, close: 11.625, volume: 6 },
  { time: 180, open: 11.0625, high: 12.6, low: 11, close: 11.825, volume: 7 },
  { time: 240, open: 11.44375, high: 11.44375, low: 10, close: 10.65, volume: 8 },
];

function expectBars(actual: readonly Candle[], expected: readonly Candle[]) {
  expect(actual.map((b) => b.time)).toEqual(expected.map((b) => b.time));
  actual.forEach((b, i) => {
    const e = expected[i]!;
    for (const k of ['open', 'high', 'low', 'close', 'volume'] as const) expect(b[k], `${k} of bar ${i + 1}`).toBeCloseTo(e[k], 10);
  });
}

describe('heikinAshi', () => {
  test('hand-checked bars, the first seeded by its own open and close', () => {
    expectBars(heikinAshi(CANDLES), EXPECTED);
  });

  test('a tail continues from the bar before it', () => {
    expectBars(heikinAshi(CANDLES.slice(2), EXPECTED[1]), EXPECTED.slice(2));
  });

  test('no candles, no bars', () => {
    expect(heikinAshi([])).toEqual([]);
  });
});

describe('HeikinAshiTrack: the forming bar live', () => {
  test('a tick moving the last candle recomputes only the last bar, as a full recomputation would', () => {
    const track = new HeikinAshiTrack();
    const candles = CANDLES.map((x) => ({ ...x }));
    track.reset(candles);
    // The forming candle (bar 4) takes a tick at 9.9: low 9.9, close 9.9.
    candles[3] = c(240, 11.2, 11.3, 9.9, 9.9, 9);
    const tail = track.updateFrom(candles, 3);
    // close (11.2+11.3+9.9+9.9)/4 = 10.575; open unchanged 11.44375; high 11.44375; low 9.9
    expectBars(tail, [{ time: 240, open: 11.44375, high: 11.44375, low: 9.9, close: 10.575, volume: 9 }]);
    expectBars(track.all(), heikinAshi(candles));
  });

  test('a new bar appends; a corrected older candle moves every later bar', () => {
    const track = new HeikinAshiTrack();
    const candles = CANDLES.slice(0, 3).map((x) => ({ ...x }));
    track.reset(candles);
    candles.push({ ...CANDLES[3]! });
    expectBars(track.updateFrom(candles, 3), EXPECTED.slice(3));
    // The server corrects bar 2 (a late tick): bars 2, 3 and 4 change.
    candles[1] = c(120, 11, 13.4, 10, 12.6, 7);
    const tail = track.updateFrom(candles, 1);
    expect(tail).toHaveLength(3);
    expectBars(track.all(), heikinAshi(candles));
    expect(track.all()[3]!.open).not.toBeCloseTo(EXPECTED[3]!.open, 6);
  });
});
