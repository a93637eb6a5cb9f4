import { expect, test } from 'vitest';
import { FlushPolicy } from '../../src/persist/flush-policy.js';

// A clock of plain numbers: the policy is decided on given times, no timers needed.
const policy = new FlushPolicy(30_000, 5000);

test('nothing held: never due, wait the full block time', () => {
  expect(policy.due(0, 0, 1_000_000)).toBe(false);
  expect(policy.waitMs(0, 0, 1_000_000, 500)).toBe(500);
});

test('interval trigger: due exactly when the oldest tick in hand has waited the interval', () => {
  const first = 100_000;
  expect(policy.due(10, first, first + 29_999)).toBe(false);
  expect(policy.due(10, first, first + 30_000)).toBe(true);
  expect(policy.due(1, first, first + 45_000)).toBe(true);
});

test('size trigger: 5000 ticks are due at once, 4999 are not', () => {
  expect(policy.due(5000, 100_000, 100_001)).toBe(true);
  expect(policy.due(4999, 100_000, 100_001)).toBe(false);
});

test('wait never runs past the deadline', () => {
  expect(policy.waitMs(3, 100_000, 129_800, 500)).toBe(200);
  expect(policy.waitMs(3, 100_000, 100_000, 500)).toBe(500);
  expect(policy.waitMs(3, 100_000, 140_000, 500)).toBe(0);
});
