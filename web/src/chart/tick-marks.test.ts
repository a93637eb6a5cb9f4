import { TickMarkType } from 'lightweight-charts';
import { describe, expect, test } from 'vitest';
import { tickMarkLabel } from './tick-marks.js';

// 2024-03-09 23:59:58.250 UTC, a Saturday; one second and a quarter before midnight.
const T = Date.UTC(2024, 2, 9, 23, 59, 58, 250) / 1000;

describe('tickMarkLabel', () => {
  test('each kind of mark, in UTC', () => {
    expect(tickMarkLabel(T, TickMarkType.Year, 'utc')).toBe('2024');
    expect(tickMarkLabel(T, TickMarkType.Month, 'utc')).toBe('Mar');
    expect(tickMarkLabel(T, TickMarkType.DayOfMonth, 'utc')).toBe('9 Mar');
    expect(tickMarkLabel(T, TickMarkType.Time, 'utc')).toBe('23:59');
    expect(tickMarkLabel(Math.floor(T), TickMarkType.TimeWithSeconds, 'utc')).toBe('23:59:58');
  });

  test('a mark inside a second (the tick chart) reads to the tenth', () => {
    expect(tickMarkLabel(T, TickMarkType.TimeWithSeconds, 'utc')).toBe('23:59:58.2');
    expect(tickMarkLabel(Math.floor(T), TickMarkType.TimeWithSeconds, 'utc')).toBe('23:59:58');
  });

  test('a year boundary: the first second of 2025 is labelled 2025 in UTC', () => {
    expect(tickMarkLabel(Date.UTC(2025, 0, 1) / 1000, TickMarkType.Year, 'utc')).toBe('2025');
    expect(tickMarkLabel(Date.UTC(2025, 0, 1) / 1000, TickMarkType.DayOfMonth, 'utc')).toBe('1 Jan');
  });

  test('local time follows the browser zone (the test runner pins TZ, or it is UTC)', () => {
    const d = new Date(T * 1000);
    const hh = String(d.getHours()).padStart(2, '0');
    const mm = String(d.getMinutes()).padStart(2, '0');
    expect(tickMarkLabel(T, TickMarkType.Time, 'local')).toBe(`${hh}:${mm}`);
    expect(tickMarkLabel(T, TickMarkType.DayOfMonth, 'local')).toBe(`${d.getDate()} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]}`);
  });
});
