import { describe, expect, test } from 'vitest';
import { tickIdentity } from '../../src/core/identity.js';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';

const tick = (price: number, timestamp: number, id?: string | number): Tick => {
  const t: Tick = { pair: 'EUR/USD_otc', price, timestamp: asEpochMs(timestamp) };
  if (id !== undefined) t.id = id;
  return t;
};

describe('tickIdentity without an id: (timestamp, price)', () => {
  test('the same timestamp and price give the same identity', () => {
    expect(tickIdentity(tick(1.0823, 1_732_300_000_123))).toBe(tickIdentity(tick(1.0823, 1_732_300_000_123)));
  });

  test('prices written differently but equal as numbers are the same identity', () => {
    expect(tickIdentity(tick(1.1, 1000))).toBe(tickIdentity(tick(1.10, 1000)));
  });

  test('a different price gives a different identity', () => {
    expect(tickIdentity(tick(1.0823, 1_732_300_000_123))).not.toBe(tickIdentity(tick(1.0824, 1_732_300_000_123)));
  });

  test('a different timestamp gives a different identity', () => {
    expect(tickIdentity(tick(1.0823, 1_732_300_000_123))).not.toBe(tickIdentity(tick(1.0823, 1_732_300_000_124)));
  });

  test('timestamp and price cannot be confused with each other', () => {
    // (ts 12, price 3) and (ts 1, price 23) must not collide.
    expect(tickIdentity(tick(3, 12))).not.toBe(tickIdentity(tick(23, 1)));
    expect(tickIdentity(tick(1000, 2))).not.toBe(tickIdentity(tick(2, 1000)));
  });
});

describe('tickIdentity with an id: (id) only', () => {
  test('the same id with a different price and timestamp is the same tick', () => {
    expect(tickIdentity(tick(1.0823, 1_732_300_000_123, 'abc'))).toBe(tickIdentity(tick(2.5, 1_000, 'abc')));
  });

  test('the string "5" and the integer 5 are the same id', () => {
    expect(tickIdentity(tick(1.1, 1000, '5'))).toBe(tickIdentity(tick(1.1, 1000, 5)));
    expect(tickIdentity(tick(1.1, 1000, '5'))).toBe(tickIdentity(tick(9.9, 2000, 5)));
  });

  test('different ids are different ticks even with the same price and timestamp', () => {
    expect(tickIdentity(tick(1.1, 1000, 'a'))).not.toBe(tickIdentity(tick(1.1, 1000, 'b')));
    expect(tickIdentity(tick(1.1, 1000, 5))).not.toBe(tickIdentity(tick(1.1, 1000, 6)));
  });

  test('a tick with an id is not the same as one without', () => {
    expect(tickIdentity(tick(1.1, 1000, '5'))).not.toBe(tickIdentity(tick(1.1, 1000)));
  });

  test('an id that looks like a (timestamp, price) identity does not collide with one', () => {
    const plain = tickIdentity(tick(1.1, 1000));
    expect(tickIdentity(tick(1.1, 1000, plain))).not.toBe(plain);
    expect(tickIdentity(tick(1.1, 1000, '1000:1.1'))).not.toBe(plain);
  });

  test('the identity is a string', () => {
    expect(typeof tickIdentity(tick(1.1, 1000, 7))).toBe('string');
    expect(typeof tickIdentity(tick(1.1, 1000))).toBe('string');
  });
});
