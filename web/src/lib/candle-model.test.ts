import { describe, expect, test } from 'vitest';
import { CandleModel } from './candle-model.js';
import type { Candle, SeqTick } from './types.js';

const bar = (time: number, close: number, volume = 1): Candle => ({ time, open: close, high: close, low: close, close, volume });
let seq = 0;
const tick = (timestampMs: number, price: number): SeqTick => ({ pair: 'EUR/USD_otc', price, timestamp: timestampMs as SeqTick['timestamp'], seq: ++seq });

describe('CandleModel (1M)', () => {
  test('ticks move the forming bar and open the next one, bucketed like the server', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(120, 1.1, 3)]);
    m.applyTick(tick(179_999, 1.2));
    m.applyTick(tick(150_000, 1.05)); // late: moves low, not the close
    m.applyTick(tick(180_000, 1.3));
    expect(m.series.all()).toEqual([
      { time: 120, open: 1.1, high: 1.2, low: 1.05, close: 1.2, volume: 5 },
      { time: 180, open: 1.3, high: 1.3, low: 1.3, close: 1.3, volume: 1 },
    ]);
  });

  test('a server candle event replaces the tick-built bar', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(120, 1.1)]);
    m.applyTick(tick(130_000, 1.2));
    m.applyCandle({ time: 120, open: 1.1, high: 1.25, low: 1.1, close: 1.15, volume: 9 });
    expect(m.series.get(120)).toEqual({ time: 120, open: 1.1, high: 1.25, low: 1.1, close: 1.15, volume: 9 });
  });

  test('history joined to the live snapshot: no lost and no doubled bar, whichever comes first', () => {
    const history = [bar(60, 1), bar(120, 1), bar(180, 1)];
    const snapshot = [bar(120, 2), bar(180, 2), bar(240, 2)];

    const a = new CandleModel(60); // history first
    a.mergeHistory(history);
    a.applySnapshot(snapshot);
    const b = new CandleModel(60); // snapshot first: the older history only adds older bars
    b.applySnapshot(snapshot);
    b.mergeHistory(history);
    for (const m of [a, b]) {
      expect(m.series.all().map((c) => [c.time, c.close])).toEqual([
        [60, 1],
        [120, 2],
        [180, 2],
        [240, 2],
      ]);
    }
  });

  test('a snapshot after a reconnect replaces what was drawn from its first bar on', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(60, 1), bar(120, 1)]);
    m.applyTick(tick(185_000, 1.5)); // drawn from a tick before the link dropped
    m.applySnapshot([bar(120, 3), bar(180, 3, 7), bar(300, 3)]); // the server's view after the restart
    expect(m.series.all().map((c) => [c.time, c.close, c.volume])).toEqual([
      [60, 1, 1],
      [120, 3, 1],
      [180, 3, 7],
      [300, 3, 1],
    ]);
  });
});

describe('CandleModel: closed bars the server has not confirmed', () => {
  const candle = (time: number, close: number, volume: number): Candle => ({ time, open: 1, high: Math.max(1, close), low: Math.min(1, close), close, volume });

  test('in steady state the event follows the last tick of a bar: nothing is a suspect', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(60, 1), bar(120, 1)]);
    m.applyCandle(candle(120, 1.1, 2)); // the snapshot's newest bar, confirmed by its event
    m.applyTick(tick(130_000, 1.2));
    m.applyTick(tick(185_000, 1.3)); // the 120 bar closes on a tick ...
    expect(m.suspects()).toEqual([120]);
    m.applyCandle(candle(120, 1.2, 3)); // ... and its event follows
    m.applyCandle(candle(180, 1.3, 1));
    expect(m.suspects()).toEqual([]);
  });

  test('the snapshot\'s newest bar and the buckets up to the first live bar are in doubt once closed', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(60, 1), bar(120, 1, 4)]);
    expect(m.suspects()).toEqual([]); // 120 may still be forming
    // The first live tick is two buckets on: 120 closed and 180 may have had ticks meanwhile.
    m.applyTick(tick(245_000, 1.4));
    expect(m.suspects()).toEqual([120, 180]);
    // Only the doubted bars are set: 120 corrected, 180 added, 60 and the forming 240 left alone.
    const server = [candle(60, 9, 9), candle(120, 1.1, 7), candle(180, 1.2, 5), candle(240, 1.3, 2)];
    expect(m.repair(server, m.suspects())).toEqual([120, 180]);
    expect(m.series.all().map((c) => [c.time, c.close, c.volume])).toEqual([
      [60, 1, 1],
      [120, 1.1, 7],
      [180, 1.2, 5],
      [240, 1.4, 1],
    ]);
    expect(m.suspects()).toEqual([]);
  });

  test('a stepped-over hole: every bucket it spans is in doubt, with or without a bar', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(60, 1)]);
    m.applyCandle(candle(60, 1, 3));
    m.doubt(70_000, 250_000); // ticks between these were never seen
    m.applyTick(tick(250_000, 1.5));
    m.applyCandle(candle(240, 1.5, 4)); // the bar after the hole: the event confirms it
    expect(m.suspects()).toEqual([60, 120, 180]);
    const server = [candle(60, 1.05, 5), candle(120, 1.2, 6), candle(240, 1.5, 4)]; // 180 had no ticks
    expect(m.repair(server, m.suspects())).toEqual([60, 120]);
    expect(m.series.all().map((c) => [c.time, c.volume])).toEqual([
      [60, 5],
      [120, 6],
      [240, 4],
    ]);
    expect(m.suspects()).toEqual([]);
  });

  test('a bar confirmed by an event while the read was under way keeps the event\'s data', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(60, 1, 2)]);
    m.applyTick(tick(125_000, 1.2));
    const suspects = m.suspects();
    expect(suspects).toEqual([60]);
    m.applyCandle(candle(60, 1.1, 8)); // came after the read was sent
    expect(m.repair([candle(60, 1.1, 7), candle(120, 1.2, 1)], suspects)).toEqual([]);
    expect(m.series.get(60)?.volume).toBe(8);
  });

  test('a snapshot starts the doubt over and bumps the generation (a read before it is void)', () => {
    const m = new CandleModel(60);
    m.applySnapshot([bar(60, 1)]);
    m.applyTick(tick(125_000, 1.2));
    m.applyTick(tick(185_000, 1.3));
    expect(m.suspects()).toEqual([60, 120]);
    const g = m.generation;
    m.applySnapshot([bar(120, 1.2, 9), bar(180, 1.3, 4)]);
    expect(m.generation).toBe(g + 1);
    expect(m.suspects()).toEqual([60]); // before the snapshot's first bar: still in doubt
  });
});
