import { describe, expect, test } from 'vitest';
import { crosses, firesOn, type WatchedAlert } from '../../src/core/alert-crossing.js';

const alert = (over: Partial<WatchedAlert> = {}): WatchedAlert => ({
  id: 1,
  pair: 'EUR/USD_otc',
  condition: 'above',
  price: 1.1,
  createdAt: 1_000_000,
  createdSeq: 40,
  ...over,
});

describe('the crossing rule', () => {
  test.each([
    ['above', 1.1, 1.09999, false],
    ['above', 1.1, 1.1, true], // touching the level exactly fires
    ['above', 1.1, 1.10001, true],
    ['below', 1.1, 1.10001, false],
    ['below', 1.1, 1.1, true],
    ['below', 1.1, 1.09999, true],
  ] as const)('%s %d at price %d: %s', (condition, level, price, expected) => {
    expect(crosses(condition, level, price)).toBe(expected);
  });
});

describe('which tick fires an alert', () => {
  test('a tick at or beyond the level, stamped at or after the alert was made', () => {
    expect(firesOn(alert(), { price: 1.1, timestamp: 1_000_000 })).toBe(true);
    expect(firesOn(alert(), { price: 1.2, timestamp: 1_000_001 })).toBe(true);
    expect(firesOn(alert({ condition: 'below' }), { price: 1.05, timestamp: 1_000_500 })).toBe(true);
  });

  test('never a tick short of the level', () => {
    expect(firesOn(alert(), { price: 1.0999, timestamp: 2_000_000 })).toBe(false);
    expect(firesOn(alert({ condition: 'below' }), { price: 1.1001, timestamp: 2_000_000 })).toBe(false);
  });

  test('never a tick stamped before the alert was made (a late tick, reloaded history)', () => {
    expect(firesOn(alert(), { price: 1.5, timestamp: 999_999 })).toBe(false);
  });

  test('never a tick accepted before the alert was made (its seq is not past the seq at creation)', () => {
    expect(firesOn(alert(), { price: 1.5, timestamp: 1_000_100, seq: 40 })).toBe(false);
    expect(firesOn(alert(), { price: 1.5, timestamp: 1_000_100, seq: 39 })).toBe(false);
    expect(firesOn(alert(), { price: 1.5, timestamp: 1_000_100, seq: 41 })).toBe(true);
  });
});
