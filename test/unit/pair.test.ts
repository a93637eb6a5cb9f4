import { describe, expect, test } from 'vitest';
import { PAIR_MAX_LENGTH, pairProblem, toSymbol } from '../../src/core/pair.js';

describe('toSymbol', () => {
  test.each([
    ['EUR/USD_otc', 'EURUSD_otc'],
    ['GBP/USD_otc', 'GBPUSD_otc'],
    ['BTC.USD', 'BTCUSD'],
    ['EUR-USD', 'EURUSD'],
    ['a/b.c-d_e', 'abcd_e'],
    ['EURUSD', 'EURUSD'],
    ['1INCH/USDT', '1INCHUSDT'],
    ['x_y__z', 'x_y__z'],
    ['A.B/C-D', 'ABCD'],
  ])('%j -> %j', (pair, symbol) => {
    expect(toSymbol(pair)).toBe(symbol);
  });

  test('removes every character outside [A-Za-z0-9_], including ones a valid pair cannot hold', () => {
    expect(toSymbol('EUR:USD*?[x] ö')).toBe('EURUSDx');
    expect(toSymbol('../../etc/passwd')).toBe('etcpasswd');
  });

  test('keeps the case of the letters', () => {
    expect(toSymbol('eur/USD_Otc')).toBe('eurUSD_Otc');
  });
});

describe('pairProblem', () => {
  test('the maximum length is 32', () => {
    expect(PAIR_MAX_LENGTH).toBe(32);
  });

  test.each(['EUR/USD_otc', 'BTC.USD', 'EUR-USD', 'a', '7', 'A'.repeat(32), 'usd/jpy_otc', '1INCH/USDT'])(
    '%j is a valid pair (null)',
    (pair) => {
      expect(pairProblem(pair)).toBeNull();
    },
  );

  test.each([
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['an object', { $gt: '' }],
    ['an array', ['EUR/USD_otc']],
  ])('%s is not a string', (_what, value) => {
    expect(pairProblem(value)).toMatch(/string/i);
  });

  test('an empty string is a problem that says empty', () => {
    expect(pairProblem('')).toMatch(/empty/i);
  });

  test('33 characters is a problem naming the limit', () => {
    expect(pairProblem('A'.repeat(33))).toMatch(/32/);
  });

  test.each([
    '/EURUSD',
    '_EURUSD',
    '-EURUSD',
    '.EURUSD',
    'EUR USD',
    ' EURUSD',
    'EURUSD ',
    'EUR\nUSD',
    'EURUSD\n',
    'EUR:USD',
    'EUR*',
    'EUR/USD_ötc',
    'ЕUR', // Cyrillic Е
    "EUR'; DROP TABLE x;--",
    '../../etc/passwd',
    'EUR\\USD',
  ])('%j is a problem (bad characters or start)', (pair) => {
    const problem = pairProblem(pair);
    expect(typeof problem).toBe('string');
    expect(problem!.length).toBeGreaterThan(3);
  });
});
