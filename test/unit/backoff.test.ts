import { describe, expect, test } from 'vitest';
import { backoffDelay } from '../../src/lib/backoff.js';

const at = (r: number) => () => r;

describe('backoffDelay', () => {
  test('attempt 0 waits between half and all of minMs', () => {
    expect(backoffDelay(0, 100, 10_000, at(0))).toBe(50);
    expect(backoffDelay(0, 100, 10_000, at(0.5))).toBe(75);
    expect(backoffDelay(0, 100, 10_000, at(1))).toBe(100);
  });

  test('each attempt doubles the full wait', () => {
    // Full waits with minMs 100: 100, 200, 400, 800, 1600, 3200.
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 10_000, at(1)))).toEqual([100, 200, 400, 800, 1600, 3200]);
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 10_000, at(0)))).toEqual([50, 100, 200, 400, 800, 1600]);
  });

  test('is capped at maxMs', () => {
    // 100 * 2^7 = 12800 > 10000.
    expect(backoffDelay(7, 100, 10_000, at(1))).toBe(10_000);
    expect(backoffDelay(7, 100, 10_000, at(0))).toBe(5000);
    expect(backoffDelay(20, 100, 10_000, at(1))).toBe(10_000);
  });

  test('huge attempt numbers stay at the cap (no overflow, NaN or Infinity)', () => {
    for (const attempt of [31, 64, 1000, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      const d = backoffDelay(attempt, 50, 2000, at(1));
      expect(d).toBe(2000);
      expect(backoffDelay(attempt, 50, 2000, at(0))).toBe(1000);
    }
  });

  test('defaults: 50 ms first, capped at 2000 ms', () => {
    expect(backoffDelay(0, undefined, undefined, at(1))).toBe(50);
    expect(backoffDelay(0, undefined, undefined, at(0))).toBe(25);
    expect(backoffDelay(5, undefined, undefined, at(1))).toBe(1600);
    expect(backoffDelay(6, undefined, undefined, at(1))).toBe(2000);
    expect(backoffDelay(6, undefined, undefined, at(0))).toBe(1000);
  });

  test('the jitter stays within [half, full] for many random values', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const full = Math.min(2000, 50 * 2 ** attempt);
      for (let i = 0; i <= 100; i++) {
        const r = i / 100;
        const d = backoffDelay(attempt, 50, 2000, at(r === 1 ? 0.999999 : r));
        expect(d).toBeGreaterThanOrEqual(full / 2);
        expect(d).toBeLessThanOrEqual(full);
      }
    }
  });

  test('never decreases from one attempt to the next for a fixed random', () => {
    for (const r of [0, 0.3, 0.7, 1]) {
      let prev = 0;
      for (let attempt = 0; attempt < 40; attempt++) {
        const d = backoffDelay(attempt, 50, 2000, at(r));
        expect(d).toBeGreaterThanOrEqual(prev);
        prev = d;
      }
    }
  });

  test('returns whole milliseconds', () => {
    expect(Number.isInteger(backoffDelay(0, 33, 1000, at(0.123)))).toBe(true);
    // 33/2 + 0.123 * 16.5 = 18.5295 -> 19
    expect(backoffDelay(0, 33, 1000, at(0.123))).toBe(19);
  });

  test('with Math.random it still lands in [half, full]', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, 50, 2000);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});
