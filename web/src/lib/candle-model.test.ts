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
