import { describe, expect, test } from 'vitest';
import { distanceToSegment, hitTest, isDrawing, logicalToTime, moveDrawing, timeToLogical, type Drawing, type ScreenDrawing } from './drawing-geometry.js';

// 1M bars at 12:00, 12:01, 12:02, then a gap to 12:10 (no ticks in between).
const T0 = 1_732_276_800; // 2024-11-22 12:00 UTC
const TIMES = [T0, T0 + 60, T0 + 120, T0 + 600].map((time) => ({ time }));

describe('time <-> logical index', () => {
  test('on bars, between bars (interpolated, also across a gap), before and after them', () => {
    expect(timeToLogical(TIMES, T0 + 60, 60)).toBe(1);
    expect(timeToLogical(TIMES, T0 + 90, 60)).toBe(1.5);
    // 12:06 is half way through the gap 12:02 -> 12:10.
    expect(timeToLogical(TIMES, T0 + 360, 60)).toBe(2.5);
    expect(timeToLogical(TIMES, T0 - 120, 60)).toBe(-2);
    expect(timeToLogical(TIMES, T0 + 600 + 180, 60)).toBe(6);
    expect(timeToLogical([], T0, 60)).toBeNull();
  });

  test('a level drawn on 1M stays at its time on 5M', () => {
    // 12:03:20 on 5M bars (12:00, 12:05): two thirds of the way into the first bar.
    expect(timeToLogical([{ time: T0 }, { time: T0 + 300 }], T0 + 200, 300)).toBeCloseTo(2 / 3, 12);
  });

  test('logicalToTime is its inverse', () => {
    for (const l of [-3, -0.25, 0, 0.5, 1, 2.5, 3, 7.75]) {
      const t = logicalToTime(TIMES, l, 60)!;
      expect(timeToLogical(TIMES, t, 60)).toBeCloseTo(l, 12);
    }
    expect(logicalToTime(TIMES, 2.5, 60)).toBe(T0 + 360);
    expect(logicalToTime([], 1, 60)).toBeNull();
  });
});

describe('hit testing', () => {
  test('distance to a segment: perpendicular inside it, to the nearer end outside it', () => {
    expect(distanceToSegment({ x: 5, y: 4 }, { x: 0, y: 0 }, { x: 10, y: 0 })).toBe(4);
    expect(distanceToSegment({ x: 13, y: 4 }, { x: 0, y: 0 }, { x: 10, y: 0 })).toBe(5); // 3-4-5 from (10, 0)
    expect(distanceToSegment({ x: 3, y: 4 }, { x: 0, y: 0 }, { x: 0, y: 0 })).toBe(5);
  });

  const screen: ScreenDrawing[] = [
    { id: 'level', kind: 'hline', y: 100 },
    { id: 'trend', kind: 'trend', a: { x: 50, y: 200 }, b: { x: 250, y: 100 } },
  ];

  test('a level anywhere along its row; a trend line along its segment only', () => {
    expect(hitTest(screen, { x: 700, y: 104 }, 5)).toEqual({ id: 'level', part: 'body', distance: 4 });
    expect(hitTest(screen, { x: 700, y: 106 }, 5)).toBeNull();
    // (150, 150) is on the line.
    expect(hitTest(screen, { x: 150, y: 152 }, 5)).toMatchObject({ id: 'trend', part: 'body' });
    // The line's extension beyond its end is not the line.
    expect(hitTest(screen, { x: 450, y: 0 }, 5)).toBeNull();
  });

  test('the ends of a trend line win over the body and over a level crossing them', () => {
    // (250, 100) is the trend line's end b and lies on the level too.
    expect(hitTest(screen, { x: 251, y: 101 }, 5)).toMatchObject({ id: 'trend', part: 'b' });
    expect(hitTest(screen, { x: 49, y: 198 }, 5)).toMatchObject({ id: 'trend', part: 'a' });
  });

  test('the nearest of two lines; the selected one on a tie', () => {
    const two: ScreenDrawing[] = [
      { id: 'x', kind: 'hline', y: 100 },
      { id: 'y', kind: 'hline', y: 106 },
    ];
    expect(hitTest(two, { x: 10, y: 104 }, 5)?.id).toBe('y');
    expect(hitTest(two, { x: 10, y: 103 }, 5)?.id).toBe('x');
    expect(hitTest(two, { x: 10, y: 103 }, 5, 'y')?.id).toBe('y');
  });
});

describe('moving', () => {
  const shift = (a: { time: number; price: number }) => ({ time: a.time + 60, price: a.price + 0.001 });
  const trend: Drawing = { id: 't', kind: 'trend', a: { time: T0, price: 1.08 }, b: { time: T0 + 600, price: 1.09 } };

  test('the body moves both ends; an end moves alone; a level moves in price only', () => {
    expect(moveDrawing(trend, 'body', shift)).toEqual({ id: 't', kind: 'trend', a: { time: T0 + 60, price: 1.081 }, b: { time: T0 + 660, price: 1.091 } });
    expect(moveDrawing(trend, 'b', shift)).toEqual({ id: 't', kind: 'trend', a: trend.a, b: { time: T0 + 660, price: 1.091 } });
    expect(moveDrawing({ id: 'l', kind: 'hline', price: 1.08 }, 'body', shift)).toEqual({ id: 'l', kind: 'hline', price: 1.081 });
  });
});

describe('isDrawing (what comes back from storage)', () => {
  test('well-formed levels and trend lines pass; anything else does not', () => {
    expect(isDrawing({ id: 'a', kind: 'hline', price: 1.08 })).toBe(true);
    expect(isDrawing(trend())).toBe(true);
    expect(isDrawing({ id: 'a', kind: 'hline', price: '1.08' })).toBe(false);
    expect(isDrawing({ id: 'a', kind: 'hline', price: Number.NaN })).toBe(false);
    expect(isDrawing({ id: '', kind: 'hline', price: 1 })).toBe(false);
    expect(isDrawing({ id: 'a', kind: 'trend', a: { time: 1, price: 1 } })).toBe(false);
    expect(isDrawing({ id: 'a', kind: 'circle', price: 1 })).toBe(false);
    expect(isDrawing(null)).toBe(false);
  });
  function trend() {
    return { id: 't', kind: 'trend', a: { time: T0, price: 1 }, b: { time: T0 + 60, price: 2 } };
  }
});
