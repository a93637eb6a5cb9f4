import { describe, expect, test } from 'vitest';
import { barCloseIn, formatCountdown } from './countdown.js';

const at = (iso: string) => Date.parse(iso);

describe('barCloseIn: time to the close of the current UTC bucket', () => {
  test('seconds and minutes', () => {
    expect(barCloseIn(at('2024-11-22T12:00:03.250Z'), 5)).toBe(1750);
    expect(barCloseIn(at('2024-11-22T12:00:14.000Z'), 15)).toBe(1000);
    expect(barCloseIn(at('2024-11-22T12:03:20.000Z'), 60)).toBe(40_000);
    expect(barCloseIn(at('2024-11-22T12:03:20.000Z'), 300)).toBe(100_000);
    expect(barCloseIn(at('2024-11-22T12:29:59.999Z'), 1800)).toBe(1);
  });

  test('on a boundary a whole bar is left', () => {
    expect(barCloseIn(at('2024-11-22T12:00:00.000Z'), 60)).toBe(60_000);
  });

  test('4H and 1D close on UTC boundaries (00, 04, 08, ... and midnight UTC)', () => {
    expect(barCloseIn(at('2024-11-22T13:30:00.000Z'), 4 * 3600)).toBe(2.5 * 3600_000); // to 16:00 UTC
    expect(barCloseIn(at('2024-11-22T22:15:00.000Z'), 86_400)).toBe(1.75 * 3600_000); // to midnight UTC
  });
});

describe('formatCountdown', () => {
  test('minutes and seconds below an hour, rounded up to the second', () => {
    expect(formatCountdown(1750, 5)).toBe('0:02');
    expect(formatCountdown(40_000, 60)).toBe('0:40');
    expect(formatCountdown(247_000, 300)).toBe('4:07');
    expect(formatCountdown(1, 1800)).toBe('0:01');
    expect(formatCountdown(0, 60)).toBe('0:00');
    expect(formatCountdown(-5, 60)).toBe('0:00');
  });

  test('hours for 1H and longer bars', () => {
    expect(formatCountdown(2.5 * 3600_000, 4 * 3600)).toBe('2:30:00');
    expect(formatCountdown(86_399_000, 86_400)).toBe('23:59:59');
    expect(formatCountdown(59_000, 3600)).toBe('0:00:59');
  });
});
