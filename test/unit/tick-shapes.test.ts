import { describe, expect, test } from 'vitest';
import { feedTimeToMs, findTicks } from '../../src/core/tick-shapes.js';

describe('feedTimeToMs: seconds below 1e11, else milliseconds, rounded to whole ms', () => {
  test.each([
    [1732300000.123, 1732300000123],
    [1732300000, 1732300000000],
    [1732300000123, 1732300000123],
    [1732300000123.4, 1732300000123],
    [1732300000123.6, 1732300000124],
    [1732300000.0004, 1732300000000],
    [1732300000.0006, 1732300000001],
    // The boundary: 1e11 is milliseconds (March 1973); just below it is seconds (year 5138).
    [1e11, 100_000_000_000],
    [99_999_999_999, 99_999_999_999_000],
    [100_000_000, 100_000_000_000],
  ])('%d -> %d', (input, ms) => {
    expect(feedTimeToMs(input)).toBe(ms);
  });

  test.each([0, 5, 99_999_999.9, -1732300000, Number.NaN, Number.POSITIVE_INFINITY])('%d is no time (before 1973, or not finite)', (input) => {
    expect(feedTimeToMs(input)).toBeNull();
  });
});

describe('findTicks recognises the broker shapes', () => {
  test('a row [asset, time, price]', () => {
    expect(findTicks(['EURUSD_otc', 1732300000.123, 1.08231])).toEqual([{ pair: 'EURUSD_otc', timestamp: 1732300000123, price: 1.08231 }]);
  });

  test('an array of rows, in order', () => {
    expect(
      findTicks([
        ['EURUSD_otc', 1732300000.5, 1.1],
        ['GBPUSD_otc', 1732300001000, 1.2],
      ]),
    ).toEqual([
      { pair: 'EURUSD_otc', timestamp: 1732300000500, price: 1.1 },
      { pair: 'GBPUSD_otc', timestamp: 1732300001000, price: 1.2 },
    ]);
  });

  test.each([
    [{ pair: 'A1', price: 1.5, timestamp: 1732300000000 }],
    [{ asset: 'A1', value: 1.5, time: 1732300000 }],
    [{ symbol: 'A1', rate: 1.5, ts: 1732300000.0 }],
    [{ asset: 'A1', price: 1.5, ts: 1732300000000, extra: 'ignored' }],
  ])('an object %j', (o) => {
    expect(findTicks(o)).toEqual([{ pair: 'A1', price: 1.5, timestamp: 1732300000000 }]);
  });

  test('the first of the names wins: pair before asset before symbol, price before value before rate', () => {
    expect(findTicks({ symbol: 'S', asset: 'A', rate: 3, value: 2, ts: 1, time: 1732300000 })).toEqual([{ pair: 'A', price: 2, timestamp: 1732300000000 }]);
  });

  test('an array of objects; elements that are not ticks are skipped', () => {
    expect(findTicks([{ asset: 'A', price: 1, time: 1732300000 }, { value: 1 }, 'x', ['B', 1732300001, 2]])).toEqual([
      { pair: 'A', price: 1, timestamp: 1732300000000 },
      { pair: 'B', price: 2, timestamp: 1732300001000 },
    ]);
  });

  test("a QuFLX tick keeps its id; a broker object's id is not taken as the tick's", () => {
    expect(findTicks({ pair: 'A', price: 1, timestamp: 1732300000000, id: 'x-1' })).toEqual([{ pair: 'A', price: 1, timestamp: 1732300000000, id: 'x-1' }]);
    expect(findTicks({ asset: 'A', price: 1, time: 1732300000, id: 7 })).toEqual([{ pair: 'A', price: 1, timestamp: 1732300000000 }]);
  });

  test('values are taken as they are: validation, not recognition, rejects a bad pair or price', () => {
    expect(findTicks(['bad pair!', 1732300000, -1])).toEqual([{ pair: 'bad pair!', price: -1, timestamp: 1732300000000 }]);
  });

  test.each([
    [{ value: 1 }],
    [{ asset: 'A', price: '1.08', time: 1732300000 }],
    [{ asset: 'A', price: 1.08 }],
    [{ asset: 7, price: 1.08, time: 1732300000 }],
    [['A', 1732300000, 1.08, 'extra']],
    [['A', '1732300000', 1.08]],
    [['A', 5, 1.08]],
    [[[['A', 1732300000, 1]]]],
    ['A'],
    [42],
    [null],
    [[]],
  ])('no tick in %j', (value) => {
    expect(findTicks(value)).toEqual([]);
  });
});
