import { describe, expect, test } from 'vitest';
import { aggregate, aggregateStates, bucketTime, mergeCandles, toCandle } from '../../src/core/candle.js';
import { TIMEFRAMES } from '../../src/core/timeframe.js';

// 2024-11-22T18:13:20.123Z
const T = 1_732_299_200_123;
const tick = (price: number, timestamp: number, key = `t:${timestamp}:${price}`) => ({ price, timestamp, key });

describe('bucketTime', () => {
  test('every timeframe, hand-computed (epoch seconds, UTC)', () => {
    // T in seconds = 1732299200.123 -> 1732299200
    expect(bucketTime(T, '5S')).toBe(1_732_299_200);
    expect(bucketTime(T, '15S')).toBe(1_732_299_195); // 1732299200 % 15 = 5
    expect(bucketTime(T, '30S')).toBe(1_732_299_180); // % 30 = 20
    expect(bucketTime(T, '1M')).toBe(1_732_299_180); // 18:13:00
    expect(bucketTime(T, '5M')).toBe(1_732_299_000); // 18:10:00
    expect(bucketTime(T, '15M')).toBe(1_732_298_400); // 1732299200 % 900 = 800 -> 18:00:00
    expect(bucketTime(T, '30M')).toBe(1_732_298_400); // 18:00:00
    expect(bucketTime(T, '1H')).toBe(1_732_298_400); // 18:00:00
    expect(bucketTime(T, '4H')).toBe(1_732_291_200); // 16:00:00
    expect(bucketTime(T, '1D')).toBe(1_732_233_600); // 2024-11-22T00:00:00Z
    expect(new Date(bucketTime(T, '1D') * 1000).toISOString()).toBe('2024-11-22T00:00:00.000Z');
    expect(new Date(bucketTime(T, '4H') * 1000).toISOString()).toBe('2024-11-22T16:00:00.000Z');
  });

  test('bucket edges: the last ms of a bucket and the first of the next', () => {
    const minute = 1_732_299_180_000; // 18:13:00.000
    expect(bucketTime(minute - 1, '1M')).toBe(1_732_299_120);
    expect(bucketTime(minute, '1M')).toBe(1_732_299_180);
    expect(bucketTime(minute + 59_999, '1M')).toBe(1_732_299_180);
    expect(bucketTime(minute + 60_000, '1M')).toBe(1_732_299_240);
  });

  test('UTC day boundary', () => {
    const midnight = Date.UTC(2024, 10, 23); // 2024-11-23T00:00:00Z
    expect(bucketTime(midnight - 1, '1D')).toBe((midnight - 86_400_000) / 1000);
    expect(bucketTime(midnight, '1D')).toBe(midnight / 1000);
    expect(bucketTime(midnight - 1, '4H')).toBe((midnight - 4 * 3_600_000) / 1000);
  });
});

describe('aggregate', () => {
  const m0 = 1_732_299_180_000; // a minute boundary
  test('hand-computed OHLCV for ticks in order', () => {
    const candles = aggregate([tick(1.1, m0 + 1000), tick(1.3, m0 + 2000), tick(1.0, m0 + 3000), tick(1.2, m0 + 4000), tick(2.0, m0 + 60_000)], '1M');
    expect(candles).toEqual([
      { time: 1_732_299_180, open: 1.1, high: 1.3, low: 1.0, close: 1.2, volume: 4 },
      { time: 1_732_299_240, open: 2.0, high: 2.0, low: 2.0, close: 2.0, volume: 1 },
    ]);
  });

  test('out-of-order and late ticks: open and close by timestamp, not arrival', () => {
    const arrivals = [tick(1.2, m0 + 4000), tick(2.0, m0 + 60_000), tick(1.0, m0 + 3000), tick(1.3, m0 + 2000), tick(1.1, m0 + 1000)];
    expect(aggregate(arrivals, '1M')).toEqual([
      { time: 1_732_299_180, open: 1.1, high: 1.3, low: 1.0, close: 1.2, volume: 4 },
      { time: 1_732_299_240, open: 2.0, high: 2.0, low: 2.0, close: 2.0, volume: 1 },
    ]);
  });

  test('no empty buckets: a gap of three minutes stays a gap', () => {
    const candles = aggregate([tick(1, m0), tick(2, m0 + 4 * 60_000)], '1M');
    expect(candles.map((c) => c.time)).toEqual([1_732_299_180, 1_732_299_420]);
  });

  test('same timestamp: ties broken by identity key, whatever the arrival order', () => {
    const a = tick(1.5, m0, 'i:a');
    const b = tick(1.7, m0, 'i:b');
    expect(aggregate([a, b], '1M')[0]).toMatchObject({ open: 1.5, close: 1.7 });
    expect(aggregate([b, a], '1M')[0]).toMatchObject({ open: 1.5, close: 1.7 });
  });

  test('5S buckets across a minute edge; 1D across a UTC midnight', () => {
    expect(aggregate([tick(1, m0 - 1), tick(2, m0), tick(3, m0 + 4999), tick(4, m0 + 5000)], '5S')).toEqual([
      { time: 1_732_299_175, open: 1, high: 1, low: 1, close: 1, volume: 1 },
      { time: 1_732_299_180, open: 2, high: 3, low: 2, close: 3, volume: 2 },
      { time: 1_732_299_185, open: 4, high: 4, low: 4, close: 4, volume: 1 },
    ]);
    const midnight = Date.UTC(2024, 10, 23);
    expect(aggregate([tick(5, midnight - 1), tick(6, midnight)], '1D').map((c) => [c.time, c.open])).toEqual([
      [(midnight - 86_400_000) / 1000, 5],
      [midnight / 1000, 6],
    ]);
  });

  test('every timeframe puts one tick in exactly one candle', () => {
    for (const tf of TIMEFRAMES) expect(aggregate([tick(1, T)], tf)).toEqual([{ time: bucketTime(T, tf), open: 1, high: 1, low: 1, close: 1, volume: 1 }]);
  });

  test('merging two partial candles equals aggregating all their ticks', () => {
    const ticks = [tick(1.4, m0 + 10), tick(1.1, m0 + 5), tick(1.9, m0 + 30), tick(1.2, m0 + 20), tick(0.9, m0 + 1)];
    const [left] = aggregateStates(ticks.slice(0, 2), '1M');
    const [right] = aggregateStates(ticks.slice(2), '1M');
    expect(toCandle(mergeCandles(left!, right!))).toEqual(aggregate(ticks, '1M')[0]);
    expect(toCandle(mergeCandles(right!, left!))).toEqual({ time: 1_732_299_180, open: 0.9, high: 1.9, low: 0.9, close: 1.9, volume: 5 });
  });
});
