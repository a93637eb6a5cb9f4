import { describe, expect, test } from 'vitest';
import { FeedHealthMonitor } from '../../src/core/feed-health.js';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';

const T0 = 1_732_300_000_000;
const tick = (pair: string, timestamp: number, price: number): Tick => ({ pair, timestamp: asEpochMs(timestamp), price });

/** Feeds `n` ticks of `pair`, `gapMs` apart in tick time, each arriving at that same time on the clock. */
function steady(m: FeedHealthMonitor, pair: string, n: number, gapMs: number, price = (i: number) => 1 + (i % 2) * 0.0001): number {
  for (let i = 0; i < n; i++) m.observe([tick(pair, T0 + i * gapMs, price(i))], 'cdp', T0 + i * gapMs);
  return T0 + (n - 1) * gapMs; // arrival of the last one
}

const pairOf = (m: FeedHealthMonitor, pair: string, now: number) => m.snapshot(now).find((p) => p.pair === pair)!;

describe('stale: silent for much longer than the usual gap', () => {
  test('gaps of 1 s: stale after 10 s of silence (10 gaps), not before', () => {
    const m = new FeedHealthMonitor();
    const last = steady(m, 'A', 6, 1000); // 5 gaps of 1000 ms
    expect(pairOf(m, 'A', last + 10_000)).toMatchObject({ stale: false, usualGapMs: 1000, ageMs: 10_000 });
    expect(pairOf(m, 'A', last + 10_001).stale).toBe(true);
    expect(m.counts(last + 10_001)).toEqual({ stale: 1, suspect: 0 });
  });

  test('fast pairs are not stale before 5 s', () => {
    const m = new FeedHealthMonitor();
    const last = steady(m, 'A', 50, 60); // usual gap 60 ms: 10 gaps would be 600 ms
    expect(pairOf(m, 'A', last + 5000).stale).toBe(false);
    expect(pairOf(m, 'A', last + 5001).stale).toBe(true);
  });

  test('too few gaps to know the usual one: never stale', () => {
    const m = new FeedHealthMonitor();
    const last = steady(m, 'A', 5, 1000); // 4 gaps
    expect(pairOf(m, 'A', last + 3_600_000).stale).toBe(false);
  });

  test('a late tick (history loaded again) does not refresh a silent pair; a new one does', () => {
    const m = new FeedHealthMonitor();
    const last = steady(m, 'A', 6, 1000);
    const now = last + 20_000;
    m.observe([tick('A', T0 + 2000, 1)], 'cdp', now);
    expect(pairOf(m, 'A', now).stale).toBe(true);
    m.observe([tick('A', T0 + 25_000, 1)], 'cdp', now);
    expect(pairOf(m, 'A', now)).toMatchObject({ stale: false, ageMs: 0, lastTimestamp: T0 + 25_000 });
  });

  test('the usual gap is a running average of the gaps (weight 0.05 for the newest)', () => {
    const m = new FeedHealthMonitor();
    steady(m, 'A', 3, 1000); // gaps 1000, 1000 -> 1000
    m.observe([tick('A', T0 + 2000 + 3000, 1)], 'cdp', T0 + 5000); // gap 3000: 1000 + 0.05 * 2000 = 1100
    expect(pairOf(m, 'A', T0 + 5000).usualGapMs).toBe(1100);
  });
});

describe('suspect: a jump far outside the recent moves', () => {
  // Moves of exactly 0.0001 around 1.0: typical move 0.0001, limit 25 * 0.0001 = 0.0025.
  const warm = (m: FeedHealthMonitor, n = 21) => steady(m, 'A', n, 1000, (i) => (i % 2 === 0 ? 1 : 1.0001));

  test('after a steady run, a jump of 0.003 is suspect and 0.002 is not; the tick is only flagged', () => {
    const calm = new FeedHealthMonitor();
    const last = warm(calm); // last price 1.0 (i = 20)
    expect(calm.observe([tick('A', T0 + 21_000, 1.002)], 'cdp', last + 1000)).toBe(0);
    expect(pairOf(calm, 'A', last + 1000)).toMatchObject({ suspect: false, suspectTicks: 0, lastSuspect: null });

    const m = new FeedHealthMonitor();
    warm(m);
    expect(m.observe([tick('A', T0 + 21_000, 1.003)], 'cdp', last + 1000)).toBe(1);
    expect(pairOf(m, 'A', last + 1000)).toMatchObject({ suspect: true, suspectTicks: 1, lastSuspect: { price: 1.003, previous: 1, timestamp: T0 + 21_000 } });
  });

  test('big moves that are not suspect widen the typical move', () => {
    const m = new FeedHealthMonitor();
    const last = warm(m);
    // 0.0001 + 0.05 * (0.002 - 0.0001) = 0.000195: limit 0.004875
    expect(m.observe([tick('A', T0 + 21_000, 1.002)], 'cdp', last + 1000)).toBe(0);
    // 0.0048 < 0.004875; then 0.000195 + 0.05 * (0.0048 - 0.000195) = 0.00042525: limit 0.01063125
    expect(m.observe([tick('A', T0 + 22_000, 1.0068)], 'cdp', last + 2000)).toBe(0);
    expect(m.observe([tick('A', T0 + 23_000, 1.0068 - 0.011)], 'cdp', last + 3000)).toBe(1);
  });

  test('before 20 moves nothing is suspect', () => {
    const m = new FeedHealthMonitor();
    const last = warm(m, 20); // 19 moves
    expect(m.observe([tick('A', T0 + 20_000, 2)], 'cdp', last + 1000)).toBe(0);
  });

  test('the return from a spike is not a second jump; a new level is not suspect for long', () => {
    const m = new FeedHealthMonitor();
    const last = warm(m);
    expect(m.observe([tick('A', T0 + 21_000, 1.01)], 'cdp', last + 1000)).toBe(1);
    expect(m.observe([tick('A', T0 + 22_000, 1.0001)], 'cdp', last + 2000)).toBe(0); // back
    expect(m.observe([tick('A', T0 + 23_000, 1.01)], 'cdp', last + 3000)).toBe(1); // jumps again
    expect(m.observe([tick('A', T0 + 24_000, 1.0101)], 'cdp', last + 4000)).toBe(0); // stays there
    expect(pairOf(m, 'A', last + 4000).suspectTicks).toBe(2);
  });

  test('a flat market: the typical move is at least 2e-5 of the price (limit 25 * 2e-5 * 150 = 0.075)', () => {
    const calm = new FeedHealthMonitor();
    const last = steady(calm, 'J', 22, 1000, () => 150);
    expect(calm.observe([tick('J', T0 + 22_000, 150.07)], 'cdp', last + 1000)).toBe(0);
    const m = new FeedHealthMonitor();
    steady(m, 'J', 22, 1000, () => 150);
    expect(m.observe([tick('J', T0 + 22_000, 150.08)], 'cdp', last + 1000)).toBe(1);
  });

  test('the flag holds for a minute after the last suspect tick', () => {
    const m = new FeedHealthMonitor();
    const last = warm(m);
    m.observe([tick('A', T0 + 21_000, 1.01)], 'cdp', last + 1000);
    expect(pairOf(m, 'A', last + 1000 + 59_999).suspect).toBe(true);
    expect(pairOf(m, 'A', last + 1000 + 60_000).suspect).toBe(false);
    expect(m.counts(last + 1000 + 60_000).suspect).toBe(0);
  });
});

describe('bookkeeping', () => {
  test('pairs are listed by name with their last source; the longest silent is forgotten past maxPairs', () => {
    const m = new FeedHealthMonitor({ maxPairs: 2 });
    m.observe([tick('B', T0, 1)], 'http', T0);
    m.observe([tick('A', T0, 1)], 'cdp', T0 + 1);
    expect(m.snapshot(T0 + 2).map((p) => [p.pair, p.source, p.ageMs, p.usualGapMs])).toEqual([
      ['A', 'cdp', 1, null],
      ['B', 'http', 2, null],
    ]);
    m.observe([tick('C', T0, 1)], 'ws', T0 + 3);
    expect(m.snapshot(T0 + 3).map((p) => p.pair)).toEqual(['A', 'C']);
  });
});
