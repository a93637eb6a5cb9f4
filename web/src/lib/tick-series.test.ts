import { describe, expect, test } from 'vitest';
import { TickSeries } from './tick-series.js';

const t = (timestamp: number, seq: number | null, price = 1) => ({ timestamp, seq, price });

describe('TickSeries', () => {
  test('strictly increasing chart times, ties in a millisecond 10 µs apart', () => {
    const s = new TickSeries();
    s.append([t(1000, 1), t(1000, 2), t(1001, 3)]);
    expect(s.all().map((p) => p.time)).toEqual([1, 1.00001, 1.001]);
  });

  test('repeats by seq are dropped; the recent list merges by seq', () => {
    const s = new TickSeries();
    s.append([t(1000, 5), t(1002, 6)]);
    expect(s.append([t(1002, 6)])).toEqual([]);
    expect(s.merge([t(999, 4), t(1000, 5), t(1003, 7)])).toBe(true);
    expect(s.all().map((p) => p.seq)).toEqual([4, 5, 6, 7]);
  });

  test('older pages go in front, imported ticks without seq included', () => {
    const s = new TickSeries();
    s.append([t(5000, 10), t(6000, 11)]);
    expect(s.prepend([t(1000, null), t(1000, null), t(4000, 9)])).toBe(3);
    expect(s.all().map((p) => [p.timestamp, p.seq])).toEqual([
      [1000, null],
      [1000, null],
      [4000, 9],
      [5000, 10],
      [6000, 11],
    ]);
    const times = s.all().map((p) => p.time);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(s.prepend([t(7000, 12)])).toBe(0); // not older
  });
});
