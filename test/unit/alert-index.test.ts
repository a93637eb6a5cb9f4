import { describe, expect, test } from 'vitest';
import type { WatchedAlert } from '../../src/core/alert-crossing.js';
import { AlertIndex } from '../../src/core/alert-index.js';

let nextId = 1;
const alert = (pair: string, condition: 'above' | 'below', price: number, createdAt = 1000): WatchedAlert => ({
  id: nextId++,
  pair,
  condition,
  price,
  createdAt,
  createdSeq: 0,
});
const tick = (pair: string, price: number, timestamp = 5000) => ({ pair, price, timestamp });
const ids = (alerts: WatchedAlert[]) => alerts.map((a) => a.id).sort((a, b) => a - b);

describe('AlertIndex', () => {
  test('a tick between the nearest levels fires nothing and keeps every alert', () => {
    const index = new AlertIndex();
    index.add(alert('EUR/USD_otc', 'above', 1.2));
    index.add(alert('EUR/USD_otc', 'above', 1.1));
    index.add(alert('EUR/USD_otc', 'below', 1.0));
    index.add(alert('EUR/USD_otc', 'below', 0.9));
    expect(index.take(tick('EUR/USD_otc', 1.05))).toEqual([]);
    expect(index.take(tick('EUR/USD_otc', 1.09999))).toEqual([]);
    expect(index.take(tick('EUR/USD_otc', 1.00001))).toEqual([]);
    expect(index.size).toBe(4);
  });

  test('a tick beyond several levels fires exactly those, once, and they leave the index', () => {
    const index = new AlertIndex();
    const a11 = alert('EUR/USD_otc', 'above', 1.1);
    const a12 = alert('EUR/USD_otc', 'above', 1.2);
    const a13 = alert('EUR/USD_otc', 'above', 1.3);
    const b10 = alert('EUR/USD_otc', 'below', 1.0);
    for (const a of [a13, a11, b10, a12]) index.add(a);
    // 1.2 touches a12 exactly and is beyond a11; a13 and b10 stay.
    expect(ids(index.take(tick('EUR/USD_otc', 1.2)))).toEqual(ids([a11, a12]));
    expect(index.size).toBe(2);
    expect(index.take(tick('EUR/USD_otc', 1.25))).toEqual([]);
    expect(ids(index.take(tick('EUR/USD_otc', 0.95)))).toEqual([b10.id]);
    expect(ids(index.take(tick('EUR/USD_otc', 1.3)))).toEqual([a13.id]);
    expect(index.size).toBe(0);
    expect(index.take(tick('EUR/USD_otc', 5))).toEqual([]);
  });

  test('below levels fire at or under their price, nearest first', () => {
    const index = new AlertIndex();
    const b09 = alert('GBP/USD_otc', 'below', 0.9);
    const b10 = alert('GBP/USD_otc', 'below', 1.0);
    index.add(b09);
    index.add(b10);
    expect(ids(index.take(tick('GBP/USD_otc', 1.0)))).toEqual([b10.id]);
    expect(ids(index.take(tick('GBP/USD_otc', 0.5)))).toEqual([b09.id]);
  });

  test('pairs are one instrument per symbol: any spelling of the pair fires it, other pairs never', () => {
    const index = new AlertIndex();
    const a = alert('EUR/USD_otc', 'above', 1.1);
    index.add(a);
    expect(index.take(tick('GBP/USD_otc', 2))).toEqual([]);
    expect(index.take(tick('EURUSD_otc', 1.0))).toEqual([]);
    expect(ids(index.take(tick('EURUSD_otc', 1.1)))).toEqual([a.id]);
  });

  test('a tick stamped before an alert was made does not fire it, and it stays for a later tick', () => {
    const index = new AlertIndex();
    const early = alert('EUR/USD_otc', 'above', 1.1, 1000);
    const late = alert('EUR/USD_otc', 'above', 1.1, 3000);
    index.add(early);
    index.add(late);
    expect(ids(index.take(tick('EUR/USD_otc', 1.2, 2000)))).toEqual([early.id]);
    expect(index.has(late.id)).toBe(true);
    expect(ids(index.take(tick('EUR/USD_otc', 1.2, 3000)))).toEqual([late.id]);
  });

  test('remove and re-add: a removed alert never fires, a replaced one fires at its new level', () => {
    const index = new AlertIndex();
    const a = alert('EUR/USD_otc', 'above', 1.1);
    index.add(a);
    expect(index.remove(a.id)).toBe(true);
    expect(index.remove(a.id)).toBe(false);
    expect(index.take(tick('EUR/USD_otc', 2))).toEqual([]);
    index.add(a);
    index.add({ ...a, price: 1.5 }); // same id: replaces
    expect(index.size).toBe(1);
    expect(index.take(tick('EUR/USD_otc', 1.2))).toEqual([]);
    expect(ids(index.take(tick('EUR/USD_otc', 1.5)))).toEqual([a.id]);
  });

  test('a thousand alerts on one pair: a tick checks the nearest levels only, and the crossed ones come out in order', () => {
    const index = new AlertIndex();
    // Above levels 1.0001 .. 1.0500, below levels 0.9999 .. 0.9500 (500 each), in shuffled order.
    const all: WatchedAlert[] = [];
    for (let i = 1; i <= 500; i++) all.push(alert('EUR/USD_otc', 'above', 1 + i / 10_000), alert('EUR/USD_otc', 'below', 1 - i / 10_000));
    for (let i = all.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    for (const a of all) index.add(a);
    expect(index.take(tick('EUR/USD_otc', 1))).toEqual([]);
    // 1.0003 reaches the three lowest above levels: 1.0001, 1.0002, 1.0003.
    const fired = index.take(tick('EUR/USD_otc', 1.0003));
    expect(fired.map((a) => a.price)).toEqual([1.0001, 1.0002, 1.0003]);
    expect(index.size).toBe(997);
    // 0.99975 reaches 0.9999 and 0.9998 only.
    expect(index.take(tick('EUR/USD_otc', 0.99975)).map((a) => a.price)).toEqual([0.9999, 0.9998]);
  });
});
