import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';
import type { ChartController } from '../chart/chart-controller.js';
import { indicatorChoice, type IndicatorChoice } from '../lib/indicators.js';
import type { Candle } from '../lib/types.js';
import { useHistoricalCandles } from './useHistoricalCandles.js';
import { fakeFetch } from '../test/fake-fetch.js';

const bars = (from: number, n: number): Candle[] => Array.from({ length: n }, (_, i) => ({ time: (from + i) * 60, open: 1, high: 1, low: 1, close: 1, volume: 1 }));

/** A chart stand-in that keeps what it is given, as the real one does (by time). */
function fakeChart() {
  let have: Candle[] = [];
  const merged: { candles: Candle[]; indicators: Record<string, unknown[]> }[] = [];
  const chart = {
    onNeedOlder: null as null | (() => void),
    mergeHistory: vi.fn((candles: Candle[], indicators: Record<string, unknown[]> = {}) => {
      merged.push({ candles, indicators });
      const byTime = new Map(have.map((c) => [c.time, c]));
      for (const c of candles) if (!byTime.has(c.time)) byTime.set(c.time, c);
      have = [...byTime.values()].sort((a, b) => a.time - b.time);
    }),
    bars: () => have,
    oldestTime: () => have[0]?.time ?? null,
  };
  return { chart, merged, controller: chart as unknown as ChartController };
}

const rsi = [indicatorChoice('rsi14')!] as IndicatorChoice[];

describe('useHistoricalCandles', () => {
  test('loads the first page cache-first (the server default limit) and reports its source', async () => {
    const { controller, merged } = fakeChart();
    const { fetch, urls } = fakeFetch(() => ({ body: { pair: 'EUR/USD_otc', timeframe: '1M', source: 'cache', candles: bars(100, 200) } }));
    const { result } = renderHook(() => useHistoricalCandles(controller, 'EUR/USD_otc', '1M', rsi, { fetch }));
    expect(result.current.status).toBe('loading');
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(result.current.source).toBe('cache');
    expect(urls).toHaveLength(1);
    expect(urls[0]!.pathname).toBe('/api/candles');
    expect(Object.fromEntries(urls[0]!.searchParams)).toEqual({ pair: 'EUR/USD_otc', timeframe: '1M' });
    expect(merged[0]!.candles).toHaveLength(200);
  });

  test('paging: scrolling back asks for the page before the oldest bar, each page once, through all of the history', async () => {
    const { controller, chart, merged } = fakeChart();
    const all = bars(0, 1250); // the pair's whole stored history: 200 + 500 + 500 + 50
    const { fetch, urls } = fakeFetch((url) => {
      const before = url.searchParams.get('before');
      const limit = Number(url.searchParams.get('limit') ?? 200);
      const upTo = before === null ? all : all.filter((c) => c.time < Number(before));
      if (url.pathname === '/api/indicators') return { body: { name: 'rsi', values: upTo.slice(-limit).map((c) => ({ time: c.time, value: 50 })) } };
      return { body: { pair: 'EUR/USD_otc', timeframe: '1M', source: before === null ? 'cache' : 'database', candles: upTo.slice(-limit) } };
    });
    const { result } = renderHook(() => useHistoricalCandles(controller, 'EUR/USD_otc', '1M', rsi, { fetch }));
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(chart.onNeedOlder).toBe(result.current.loadOlder); // the chart asks when scrolled near its start
    for (let page = 1; page <= 3; page++) {
      act(() => chart.onNeedOlder!());
      act(() => chart.onNeedOlder!()); // a second scroll event while the page loads: not asked twice
      await waitFor(() => expect(result.current.loadingOlder).toBe(false));
    }
    const older = urls.slice(1);
    expect(older.map((u) => [u.pathname, u.searchParams.get('before'), u.searchParams.get('limit')])).toEqual([
      ['/api/candles', String(1050 * 60), '500'],
      ['/api/indicators', String(1050 * 60), '500'],
      ['/api/candles', String(550 * 60), '500'],
      ['/api/indicators', String(550 * 60), '500'],
      ['/api/candles', String(50 * 60), '500'],
      ['/api/indicators', String(50 * 60), '500'],
    ]);
    expect(older[1]!.searchParams.get('name')).toBe('rsi');
    expect(merged.slice(1).map((m) => m.candles.length)).toEqual([500, 500, 50]);
    expect(merged[1]!.indicators['rsi(period=14)']).toHaveLength(500);
    expect(chart.bars().map((c) => c.time)).toEqual(all.map((c) => c.time)); // every bar, once
    expect(result.current.exhausted).toBe(true); // 50 < 500: that was all of it
    act(() => chart.onNeedOlder!());
    expect(urls).toHaveLength(7);
  });

  test('a failed page is asked for again on the next scroll', async () => {
    const { controller, chart, merged } = fakeChart();
    let fail = true;
    const { fetch, urls } = fakeFetch((url) => {
      if (url.searchParams.get('before') && fail) return { status: 503, body: { error: 'busy' } };
      return { body: { pair: 'EUR/USD_otc', timeframe: '5S', source: 'cache', candles: bars(url.searchParams.get('before') ? 0 : 1000, url.searchParams.get('before') ? 500 : 200) } };
    });
    const { result } = renderHook(() => useHistoricalCandles(controller, 'EUR/USD_otc', '5S', [], { fetch }));
    await waitFor(() => expect(result.current.status).toBe('ready'));
    act(() => chart.onNeedOlder!());
    await waitFor(() => expect(result.current.loadingOlder).toBe(false));
    fail = false;
    act(() => chart.onNeedOlder!());
    await waitFor(() => expect(merged).toHaveLength(2));
    expect(urls.filter((u) => u.searchParams.get('before') === String(1000 * 60))).toHaveLength(2);
    expect(result.current.exhausted).toBe(false);
  });

  test('an error is shown with the server message, and retry loads again', async () => {
    const { controller } = fakeChart();
    let fail = true;
    const { fetch } = fakeFetch(() =>
      fail
        ? { status: 503, body: { error: 'The database is not reachable yet; retry shortly' } }
        : { body: { pair: 'EUR/USD_otc', timeframe: '5S', source: 'database', candles: bars(0, 3) } },
    );
    const { result } = renderHook(() => useHistoricalCandles(controller, 'EUR/USD_otc', '5S', [], { fetch }));
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(result.current.error).toBe('The database is not reachable yet; retry shortly');
    fail = false;
    act(() => result.current.retry());
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(result.current.source).toBe('database');
  });

  test('an answer for a pair no longer shown is dropped', async () => {
    const { controller, merged } = fakeChart();
    const { fetch } = fakeFetch((url) => ({ body: { pair: url.searchParams.get('pair'), timeframe: '1M', source: 'cache', candles: bars(url.searchParams.get('pair') === 'A' ? 0 : 1000, 2) } }));
    const { result, rerender } = renderHook(({ pair }) => useHistoricalCandles(controller, pair, '1M', [], { fetch }), { initialProps: { pair: 'A' } });
    rerender({ pair: 'B' });
    await waitFor(() => expect(result.current.status).toBe('ready'));
    await new Promise((r) => setTimeout(r, 20));
    expect(merged.map((m) => m.candles[0]!.time)).toEqual([60_000]);
  });
});
