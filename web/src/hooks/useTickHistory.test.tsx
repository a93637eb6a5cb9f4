import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';
import type { TickChartController } from '../chart/tick-chart-controller.js';
import { TICK_PAGE, useTickHistory } from './useTickHistory.js';
import { fakeFetch } from '../test/fake-fetch.js';

interface T {
  pair: string;
  price: number;
  timestamp: number;
  seq?: number | null;
}

/** `n` ticks from `fromMs`, one every 10 ms, oldest first. */
const ticks = (fromMs: number, n: number, pair = 'EUR/USD_otc'): T[] => Array.from({ length: n }, (_, i) => ({ pair, price: 1 + i / 1e5, timestamp: fromMs + i * 10 }));

/** A tick chart stand-in that keeps what it is given, oldest first. */
function fakeTickChart() {
  let have: T[] = [];
  const chart = {
    onNeedOlder: null as null | (() => void),
    mergeRecent: vi.fn((recent: T[]) => {
      have = [...have, ...recent].sort((a, b) => a.timestamp - b.timestamp);
    }),
    prependOlder: vi.fn((older: T[]) => {
      have = [...older, ...have];
      return older.length;
    }),
    oldestTimestamp: () => have[0]?.timestamp ?? null,
    all: () => have,
  };
  return { chart, controller: chart as unknown as TickChartController };
}

describe('useTickHistory', () => {
  test('the recent ticks first; a full list leaves its oldest millisecond to the first older page', async () => {
    const { chart, controller } = fakeTickChart();
    const recent = ticks(1_000_000, TICK_PAGE);
    recent[1]!.timestamp = recent[0]!.timestamp; // two ticks in the oldest millisecond
    const { fetch, urls } = fakeFetch(() => ({ body: recent }));
    const { result } = renderHook(() => useTickHistory(controller, 'EUR/USD_otc', { fetch }));
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(result.current.source).toBe('recent');
    expect(Object.fromEntries(urls[0]!.searchParams)).toEqual({ pair: 'EUR/USD_otc', limit: String(TICK_PAGE) });
    expect(chart.all()).toHaveLength(TICK_PAGE - 2);
    expect(chart.oldestTimestamp()).toBe(recent[2]!.timestamp);
  });

  test('paging: each older page once, before the oldest tick, until a short page; a failed page is asked again', async () => {
    const { chart, controller } = fakeTickChart();
    const all = ticks(0, 2500); // stored: 2,500 ticks, 10 ms apart
    let failNext = false;
    const { fetch, urls } = fakeFetch((url) => {
      const before = url.searchParams.get('before');
      const limit = Number(url.searchParams.get('limit'));
      if (before !== null && failNext) {
        failNext = false;
        return { status: 503, body: { error: 'busy' } };
      }
      const upTo = before === null ? all : all.filter((t) => t.timestamp < Number(before));
      return { body: upTo.slice(-limit) };
    });
    const { result } = renderHook(() => useTickHistory(controller, 'EUR/USD_otc', { fetch }));
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(chart.onNeedOlder).toBe(result.current.loadOlder);

    failNext = true;
    act(() => chart.onNeedOlder!());
    await waitFor(() => expect(result.current.loadingOlder).toBe(false));
    expect(chart.prependOlder).not.toHaveBeenCalled();
    for (let page = 1; page <= 2; page++) {
      act(() => chart.onNeedOlder!());
      act(() => chart.onNeedOlder!()); // a second scroll event while the page loads: not asked twice
      await waitFor(() => expect(result.current.loadingOlder).toBe(false));
    }
    // The first page (ticks at 15,000 to 24,990 ms) left out its oldest millisecond, so the pages
    // go before 15,010 ms (once failed, once answered: ticks 5,010 to 15,000) and before 5,010 (the
    // last 501 ticks: short, the history ends).
    expect(urls.slice(1).map((u) => u.searchParams.get('before'))).toEqual(['15010', '15010', '5010']);
    expect(result.current.exhausted).toBe(true);
    expect(chart.all().map((t) => t.timestamp)).toEqual(all.map((t) => t.timestamp));
    act(() => chart.onNeedOlder!()); // the history has ended: nothing more is asked
    expect(urls).toHaveLength(4);
  });

  test('a switch of pair drops the older pair\'s answer and starts over', async () => {
    const { chart, controller } = fakeTickChart();
    const answers: Record<string, T[]> = { 'EUR/USD_otc': ticks(0, 10), 'GBP/USD_otc': ticks(5000, 3, 'GBP/USD_otc') };
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    const { fetch } = fakeFetch((url) => ({ body: answers[url.searchParams.get('pair')!] }));
    const delayed = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes('EUR')) await slow;
      return fetch(input, init);
    }) as unknown as typeof globalThis.fetch;
    const { result, rerender } = renderHook(({ pair }) => useTickHistory(controller, pair, { fetch: delayed }), { initialProps: { pair: 'EUR/USD_otc' } });
    rerender({ pair: 'GBP/USD_otc' });
    await waitFor(() => expect(result.current.status).toBe('ready'));
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(chart.mergeRecent).toHaveBeenCalledTimes(1);
    expect(new Set(chart.all().map((t) => t.pair))).toEqual(new Set(['GBP/USD_otc']));
  });
});
