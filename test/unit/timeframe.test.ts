import { describe, expect, test } from 'vitest';
import { parseTimeframe, TIMEFRAMES, timeframeSeconds, type Timeframe } from '../../src/core/timeframe.js';

const EXPECTED: [Timeframe, number][] = [
  ['5S', 5],
  ['15S', 15],
  ['30S', 30],
  ['1M', 60],
  ['5M', 300],
  ['15M', 900],
  ['30M', 1800],
  ['1H', 3600],
  ['4H', 14_400],
  ['1D', 86_400],
];

describe('timeframes', () => {
  test('exactly the 10 contract timeframes, shortest first', () => {
    expect([...TIMEFRAMES]).toEqual(['5S', '15S', '30S', '1M', '5M', '15M', '30M', '1H', '4H', '1D']);
  });

  test.each(EXPECTED)('%s lasts %i seconds', (tf, seconds) => {
    expect(timeframeSeconds(tf)).toBe(seconds);
  });
});

describe('parseTimeframe', () => {
  test.each(EXPECTED)('parses %s as itself', (tf) => {
    expect(parseTimeframe(tf)).toBe(tf);
  });

  test.each([
    ['5s', '5S'],
    ['15s', '15S'],
    ['30s', '30S'],
    ['1m', '1M'],
    ['5m', '5M'],
    ['15m', '15M'],
    ['30m', '30M'],
    ['1h', '1H'],
    ['4h', '4H'],
    ['1d', '1D'],
  ])('is case-insensitive: %j -> %j', (input, tf) => {
    expect(parseTimeframe(input)).toBe(tf);
  });

  test.each([
    '7M',
    '2H',
    '1W',
    '1MIN',
    'M1',
    '60',
    '1',
    'S',
    '',
    '1 M',
    '1M1M',
    '__proto__',
    'constructor',
    'toString',
  ])('rejects the string %j', (input) => {
    expect(parseTimeframe(input)).toBeNull();
  });

  test.each([
    ['a number', 60],
    ['null', null],
    ['undefined', undefined],
    ['an array', ['1M']],
    ['an object', { tf: '1M' }],
    ['a boolean', true],
  ])('rejects %s', (_what, input) => {
    expect(parseTimeframe(input)).toBeNull();
  });
});
