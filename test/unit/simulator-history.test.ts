import { describe, expect, test } from 'vitest';
import { aggregate } from '../../src/core/candle.js';
import { tickIdentity } from '../../src/core/identity.js';
import { timeframeSeconds, type Timeframe } from '../../src/core/timeframe.js';
import { historyTicks } from '../../src/feeds/simulator-history.js';

/** A seeded generator, so the walk is the same on every run. */
function seeded(seed = 7): () => number {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

const END = Date.UTC(2024, 10, 22, 18, 0, 0) + 123;

describe('historyTicks: the simulator walk, backwards from its start', () => {
  const ticks = historyTicks('EUR/USD_otc', END, 240, 1000, seeded());

  test('ends just before the live start, begins within the hours asked, oldest first, unique', () => {
    expect(ticks[ticks.length - 1]!.timestamp).toBeLessThan(END);
    expect(ticks[ticks.length - 1]!.timestamp).toBeGreaterThan(END - 1000);
    expect(ticks[0]!.timestamp).toBeGreaterThanOrEqual(END - 240 * 3_600_000);
    expect(ticks[0]!.timestamp).toBeLessThan(END - 239 * 3_600_000);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.timestamp).toBeGreaterThan(ticks[i - 1]!.timestamp);
    expect(new Set(ticks.map(tickIdentity)).size).toBe(ticks.length);
    // Sparse with age: ten days in well under 20,000 ticks (the live feed makes 1000 a minute).
    expect(ticks.length).toBeGreaterThan(14_000);
    expect(ticks.length).toBeLessThan(20_000);
  });

  test('every timeframe up to 1H has a candle in each of its last 220 buckets (a full chart plus warm-up)', () => {
    const keyed = ticks.map((t) => ({ price: t.price, timestamp: t.timestamp, key: tickIdentity(t) }));
    for (const tf of ['5S', '15S', '30S', '1M', '5M', '15M', '30M', '1H'] as Timeframe[]) {
      const size = timeframeSeconds(tf);
      const candles = aggregate(keyed, tf);
      const last = Math.floor((END - 1) / 1000 / size) * size;
      const times = new Set(candles.map((c) => c.time as number));
      const missing = Array.from({ length: 220 }, (_, i) => last - i * size).filter((t) => !times.has(t));
      expect(missing, tf).toEqual([]);
    }
  });

  test('prices stay near the base, quoted as the simulator quotes, and join the live start at the base', () => {
    for (const t of ticks) {
      expect(Math.abs(t.price - 1.0852)).toBeLessThan(0.01);
      expect(Number(t.price.toFixed(5))).toBe(t.price);
    }
    expect(Math.abs(ticks[ticks.length - 1]!.price - 1.0852)).toBeLessThan(0.0005);
    const jpy = historyTicks('USD/JPY_otc', END, 1, 1000, seeded(3));
    for (const t of jpy) expect(Number(t.price.toFixed(3))).toBe(t.price);
    expect(Math.abs(jpy[0]!.price - 149.52)).toBeLessThan(2);
  });

  test('0 hours is no history', () => {
    expect(historyTicks('EUR/USD_otc', END, 0, 1000)).toEqual([]);
  });
});
