import { describe, expect, test } from 'vitest';
import { formatBytes, parseSize, sizeOutlook, ticksPerDayFrom, type DbStats } from '../../src/db/db-stats.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 10, 22, 12); // noon of day 20049
const today = Math.floor(NOW / DAY);

describe('ticksPerDayFrom', () => {
  test('the ticks of the 7 days before today over those 7 days', () => {
    const days = Array.from({ length: 9 }, (_, i) => ({ day: today - 8 + i, ticks: 1000 * (i + 1), first: (today - 8 + i) * DAY }));
    // Days today-7 .. today-1 hold 2000 .. 8000 ticks: 35,000 over 7 days.
    expect(ticksPerDayFrom(days, NOW)).toBe(5000);
  });

  test('since the first tick when that is later: two days and a half held 5000 ticks', () => {
    const days = [
      { day: today - 3, ticks: 1000, first: (today - 3) * DAY + DAY / 2 },
      { day: today - 2, ticks: 2000, first: (today - 2) * DAY },
      { day: today - 1, ticks: 2000, first: (today - 1) * DAY },
      { day: today, ticks: 999, first: today * DAY },
    ];
    expect(ticksPerDayFrom(days, NOW)).toBe(2000);
  });

  test('today only: the ticks so far over the time since the first, at least a minute', () => {
    expect(ticksPerDayFrom([{ day: today, ticks: 600, first: NOW - 6 * 3_600_000 }], NOW)).toBe(2400);
    expect(ticksPerDayFrom([{ day: today, ticks: 10, first: NOW - 1000 }], NOW)).toBe(10 * 1440);
  });

  test('nothing in the last week: no rate', () => {
    expect(ticksPerDayFrom([], NOW)).toBeNull();
    expect(ticksPerDayFrom([{ day: today - 30, ticks: 5, first: (today - 30) * DAY }], NOW)).toBeNull();
  });
});

const stats = (over: Partial<DbStats>): DbStats => ({
  ticks: 1_000_000,
  tickBytes: 100_000_000,
  bytesPerTick: 100,
  partitions: 1,
  oldest: 0,
  newest: 0,
  days: [],
  ticksPerDay: 1_000_000,
  rollupBytes: 0,
  databaseBytes: 120_000_000,
  retentionDays: null,
  ...over,
});

describe('sizeOutlook', () => {
  test('without a retention: the free space over the growth per day', () => {
    // 100 MB a day; 380 MB left of 500 MB.
    expect(sizeOutlook(stats({}), 500e6)).toEqual({ growthPerDay: 100e6, levelsOffAt: null, daysUntilLimit: 3.8 });
  });

  test('with a retention it levels off at the rest plus N + 1 days of ticks; below the limit: never', () => {
    // 20 MB besides the ticks + 3 days x 100 MB.
    expect(sizeOutlook(stats({ retentionDays: 2 }), 500e6)).toEqual({ growthPerDay: 100e6, levelsOffAt: 320e6, daysUntilLimit: Infinity });
    expect(sizeOutlook(stats({ retentionDays: 7 }), 500e6)).toEqual({ growthPerDay: 100e6, levelsOffAt: 820e6, daysUntilLimit: 3.8 });
  });

  test('over the limit already: 0; no rate: unknown', () => {
    expect(sizeOutlook(stats({ databaseBytes: 600e6 }), 500e6).daysUntilLimit).toBe(0);
    expect(sizeOutlook(stats({ ticksPerDay: null }), 500e6)).toEqual({ growthPerDay: null, levelsOffAt: null, daysUntilLimit: null });
  });
});

describe('parseSize and formatBytes', () => {
  test.each([
    ['500MB', 500e6],
    ['500 mb', 500e6],
    ['8GB', 8e9],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['100kB', 100e3],
    ['123456', 123456],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test.each(['', 'MB', '-5MB', '5 parsecs', '0', '1e3MB'])('%j is not a size', (text) => {
    expect(parseSize(text)).toBeNull();
  });

  test('decimal units, one decimal', () => {
    expect(formatBytes(999)).toBe('999 bytes');
    expect(formatBytes(124_200_000)).toBe('124.2 MB');
    expect(formatBytes(5.8e9)).toBe('5.8 GB');
  });
});
