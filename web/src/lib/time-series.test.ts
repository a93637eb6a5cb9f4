import { describe, expect, test } from 'vitest';
import { TimeSeries } from './time-series.js';

const p = (time: number, v = time) => ({ time, v });

describe('TimeSeries', () => {
  test('appends and updates in place, recording only what changed', () => {
    const s = new TimeSeries<{ time: number; v: number }>();
    s.set(p(10));
    s.set(p(20));
    expect(s.takeChanges()).toEqual({ reset: false, points: [p(10), p(20)] });
    s.set(p(20, 99));
    expect(s.takeChanges()).toEqual({ reset: false, points: [p(20, 99)] });
    expect(s.takeChanges()).toEqual({ reset: false, points: [] });
  });

  test('an insert before the end is a reset, and the order holds', () => {
    const s = new TimeSeries<{ time: number; v: number }>();
    s.merge([p(10), p(30)], false);
    s.takeChanges();
    s.set(p(20));
    expect(s.takeChanges().reset).toBe(true);
    expect(s.all().map((x) => x.time)).toEqual([10, 20, 30]);
  });

  test('merge adds what is missing and keeps what is there unless told to overwrite', () => {
    const s = new TimeSeries<{ time: number; v: number }>();
    s.merge([p(20, 1), p(30, 1)], false);
    s.merge([p(10, 2), p(20, 2), p(30, 2)], false);
    expect(s.all()).toEqual([p(10, 2), p(20, 1), p(30, 1)]);
    s.merge([p(20, 3)], true);
    expect(s.get(20)).toEqual(p(20, 3));
  });

  test('replaceFrom makes the series exactly the snapshot from its first time on', () => {
    const s = new TimeSeries<{ time: number; v: number }>();
    s.merge([p(10), p(20), p(30), p(40)], false);
    s.replaceFrom([p(30, 7), p(50, 7)]);
    expect(s.all()).toEqual([p(10), p(20), p(30, 7), p(50, 7)]);
    s.replaceFrom([]);
    expect(s.length).toBe(4);
  });

  test('keeps at most maxPoints, dropping the oldest', () => {
    const s = new TimeSeries<{ time: number; v: number }>(3);
    for (const t of [1, 2, 3, 4, 5]) s.set(p(t));
    expect(s.all().map((x) => x.time)).toEqual([3, 4, 5]);
    expect(s.get(1)).toBeUndefined();
    expect(s.get(5)).toEqual(p(5));
  });
});
