import { describe, expect, test } from 'vitest';
import { DrawingStore, MAX_DRAWINGS_PER_PAIR } from './drawing-store.js';

function memory() {
  const m = new Map<string, string>();
  return { m, storage: { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) } };
}

describe('DrawingStore', () => {
  test('per pair, kept across a new store (a reload), emptied to nothing', () => {
    const { m, storage } = memory();
    const a = new DrawingStore(storage);
    a.add('EUR/USD_otc', { id: '1', kind: 'hline', price: 1.08 });
    a.add('EUR/USD_otc', { id: '2', kind: 'trend', a: { time: 60, price: 1.07 }, b: { time: 120, price: 1.09 } });
    a.add('GBP/USD_otc', { id: '3', kind: 'hline', price: 1.27 });
    const b = new DrawingStore(storage);
    expect(b.get('EUR/USD_otc').map((d) => d.id)).toEqual(['1', '2']);
    expect(b.get('GBP/USD_otc').map((d) => d.id)).toEqual(['3']);
    b.replace('EUR/USD_otc', { id: '1', kind: 'hline', price: 1.085 });
    b.remove('EUR/USD_otc', '2');
    expect(new DrawingStore(storage).get('EUR/USD_otc')).toEqual([{ id: '1', kind: 'hline', price: 1.085 }]);
    b.remove('EUR/USD_otc', '1');
    expect(m.has('quflx.drawings.EUR/USD_otc')).toBe(false);
  });

  test('a corrupt entry or a bad drawing in it is dropped, not drawn', () => {
    const { m, storage } = memory();
    m.set('quflx.drawings.X', '{not json');
    m.set('quflx.drawings.Y', JSON.stringify([{ id: 'ok', kind: 'hline', price: 1 }, { id: 'bad', kind: 'hline', price: 'x' }, 7]));
    const s = new DrawingStore(storage);
    expect(s.get('X')).toEqual([]);
    expect(s.get('Y').map((d) => d.id)).toEqual(['ok']);
  });

  test('listeners hear every change; at most MAX_DRAWINGS_PER_PAIR are kept, the newest', () => {
    const s = new DrawingStore(memory().storage);
    const heard: number[] = [];
    s.subscribe((_pair, list) => heard.push(list.length));
    for (let i = 0; i < MAX_DRAWINGS_PER_PAIR + 3; i++) s.add('P', { id: `d${i}`, kind: 'hline', price: i + 1 });
    expect(heard.at(-1)).toBe(MAX_DRAWINGS_PER_PAIR);
    expect(s.get('P')[0]!.id).toBe('d3');
  });
});
