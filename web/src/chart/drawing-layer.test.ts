import { beforeEach, describe, expect, test, vi } from 'vitest';
import { DrawingStore } from '../lib/drawing-store.js';
import type { Candle } from '../lib/types.js';
import * as lwc from '../test/fake-lightweight-charts.js';
import { ChartController } from './chart-controller.js';
import { DrawScheduler } from './draw-scheduler.js';

vi.mock('lightweight-charts', () => import('../test/fake-lightweight-charts.js'));

// The fake's scales: price p at y = (1.2 - p) * 1000, bar index l at x = 10 * l.
const T0 = 1_732_276_800;
const bars: Candle[] = Array.from({ length: 60 }, (_, i) => ({ time: T0 + i * 60, open: 1.1, high: 1.11, low: 1.09, close: 1.1, volume: 1 }));

function memoryStore() {
  const m = new Map<string, string>();
  return new DrawingStore({ getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k) });
}

function setup(store = memoryStore()) {
  const host = document.createElement('div');
  document.body.append(host);
  const c = new ChartController(host, null, { notePainted() {} } as never, { drawings: store });
  c.setContext('EUR/USD_otc', '1M', []);
  c.mergeHistory(bars);
  const chart = lwc.charts.at(-1)!;
  const done = vi.fn();
  c.drawings.onToolDone = done;
  return { c, host, chart, store, done };
}

const down = (el: EventTarget, x: number, y: number, pointerType = 'mouse') => el.dispatchEvent(new PointerEvent('pointerdown', { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true, pointerType }));
const move = (x: number, y: number) => window.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true }));
const up = (x: number, y: number) => window.dispatchEvent(new PointerEvent('pointerup', { clientX: x, clientY: y, bubbles: true }));

beforeEach(() => {
  lwc.charts.length = 0;
  DrawScheduler.requestFrame = (cb) => cb();
});

describe('drawing on a chart with the pointer', () => {
  test('a level: one press with the level tool, at that price; the tool then goes back to the cursor', () => {
    const { c, host, store, done, chart } = setup();
    c.drawings.setTool('hline');
    const scrolls: unknown[] = [];
    const apply = chart.applyOptions.bind(chart);
    chart.applyOptions = (o) => (scrolls.push(o.handleScroll), apply(o));
    down(host, 400, 100);
    up(400, 100);
    expect(store.get('EUR/USD_otc')).toEqual([{ id: expect.any(String), kind: 'hline', price: expect.closeTo(1.1, 9) }]);
    expect(done).toHaveBeenCalledOnce();
    expect(c.drawings.currentTool).toBe('cursor');
    // The chart did not pan under the press, and pans again after it.
    expect(scrolls).toEqual([false, true]);
  });

  test('a trend line by a drag, and by two clicks; its ends at the bars\' times and prices', () => {
    const { c, host, store } = setup();
    c.drawings.setTool('trend');
    down(host, 100, 200);
    move(250, 170);
    up(300, 150);
    const [drag] = store.get('EUR/USD_otc');
    expect(drag).toMatchObject({ kind: 'trend', a: { time: T0 + 10 * 60, price: expect.closeTo(1.0, 9) }, b: { time: T0 + 30 * 60, price: expect.closeTo(1.05, 9) } });

    c.drawings.setTool('trend');
    down(host, 50, 300);
    up(50, 300); // a click: the line waits for its second end
    expect(store.get('EUR/USD_otc')).toHaveLength(1);
    host.dispatchEvent(new PointerEvent('pointermove', { clientX: 120, clientY: 280, bubbles: true }));
    expect(c.drawings.primitive.current().pending).toEqual({ a: { x: 50, y: expect.closeTo(300, 6) }, b: { x: 120, y: expect.closeTo(280, 6) } });
    down(host, 150, 250);
    up(150, 250);
    expect(store.get('EUR/USD_otc')[1]).toMatchObject({ kind: 'trend', a: { time: T0 + 5 * 60 }, b: { time: T0 + 15 * 60, price: expect.closeTo(0.95, 9) } });
    // Past the last bar, a time goes on one bar per minute.
    c.drawings.setTool('trend');
    down(host, 590, 100);
    up(700, 100);
    expect(store.get('EUR/USD_otc')[2]).toMatchObject({ a: { time: T0 + 59 * 60 }, b: { time: T0 + 70 * 60 } });
  });

  test('a press on a drawing selects it and a drag moves it; an end moves alone; elsewhere the chart pans', () => {
    const { c, host, store, chart } = setup();
    store.add('EUR/USD_otc', { id: 'level', kind: 'hline', price: 1.1 });
    store.add('EUR/USD_otc', { id: 'trend', kind: 'trend', a: { time: T0 + 10 * 60, price: 1.0 }, b: { time: T0 + 30 * 60, price: 1.05 } });
    c.drawings.primitive.updateAllViews();
    const selected: (string | null)[] = [];
    c.drawings.onSelect = (id) => selected.push(id);

    down(host, 500, 103); // 3 px off the level
    move(500, 150);
    expect(store.get('EUR/USD_otc')[0]).toMatchObject({ price: 1.1 }); // stored when let go
    up(500, 150);
    // Moved by as much as the pointer: 47 px, 0.047 down.
    expect(store.get('EUR/USD_otc')[0]).toMatchObject({ id: 'level', price: expect.closeTo(1.053, 9) });

    c.drawings.primitive.updateAllViews();
    down(host, 301, 151); // the trend line's end b, which lies on the moved level too: the end wins
    up(321, 101); // 20 px right (two bars), 50 px up
    expect(store.get('EUR/USD_otc')[1]).toMatchObject({ a: { time: T0 + 600, price: 1.0 }, b: { time: T0 + 32 * 60, price: expect.closeTo(1.1, 9) } });
    expect(selected).toEqual(['level', 'trend']);

    c.drawings.primitive.updateAllViews();
    const options: unknown[] = [];
    const apply = chart.applyOptions.bind(chart);
    chart.applyOptions = (o) => (options.push(o), apply(o));
    down(host, 700, 500); // nothing there: deselects, and the chart keeps the press
    expect(options).toEqual([]);
    expect(c.drawings.selectedId).toBeNull();
    expect(selected.at(-1)).toBeNull();
  });

  test('a finger has a wider reach than a mouse', () => {
    const { c, host, store } = setup();
    store.add('EUR/USD_otc', { id: 'level', kind: 'hline', price: 1.1 });
    c.drawings.primitive.updateAllViews();
    down(host, 400, 112);
    up(400, 112);
    expect(c.drawings.selectedId).toBeNull();
    down(host, 400, 112, 'touch');
    up(400, 112);
    expect(c.drawings.selectedId).toBe('level');
  });

  test('Delete removes the selected drawing; Esc drops a pending line, then the tool', () => {
    const { c, host, store } = setup();
    store.add('EUR/USD_otc', { id: 'level', kind: 'hline', price: 1.1 });
    c.drawings.primitive.updateAllViews();
    expect(c.drawings.deleteSelected()).toBe(false);
    down(host, 10, 100);
    up(10, 100);
    expect(c.drawings.deleteSelected()).toBe(true);
    expect(store.get('EUR/USD_otc')).toEqual([]);
    c.drawings.setTool('trend');
    down(host, 50, 300);
    up(50, 300);
    expect(c.drawings.cancel()).toBe(true); // the pending line
    expect(c.drawings.primitive.current().pending).toBeNull();
    expect(c.drawings.currentTool).toBe('trend');
    expect(c.drawings.cancel()).toBe(true); // the tool
    expect(c.drawings.currentTool).toBe('cursor');
    expect(c.drawings.cancel()).toBe(false);
  });

  test('kept per pair: another chart (a reload) on the same store draws them; another pair has its own', () => {
    const store = memoryStore();
    const first = setup(store);
    first.c.drawings.setTool('hline');
    down(first.host, 400, 100);
    up(400, 100);
    first.c.destroy();
    const again = setup(store);
    again.c.drawings.primitive.updateAllViews();
    const scene = again.c.drawings.primitive.current();
    expect(scene.drawings).toEqual([{ id: expect.any(String), kind: 'hline', y: expect.closeTo(100, 6) }]);
    expect(scene.labels).toEqual([{ y: expect.closeTo(100, 6), text: '1.10000', selected: false }]);
    again.c.setContext('GBP/USD_otc', '1M', []);
    again.c.drawings.primitive.updateAllViews();
    expect(again.c.drawings.primitive.current().drawings).toEqual([]);
  });

  test('a right-click names the price under it', () => {
    const { c, host } = setup();
    const menus: unknown[] = [];
    c.drawings.onContextMenu = (at) => menus.push(at);
    const e = new MouseEvent('contextmenu', { clientX: 200, clientY: 150, bubbles: true, cancelable: true });
    host.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(true);
    expect(menus).toEqual([{ clientX: 200, clientY: 150, price: expect.closeTo(1.05, 9) }]);
  });
});
