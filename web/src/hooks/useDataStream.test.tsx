import { act, renderHook } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';
import type { ChartController, ChartStatus } from '../chart/chart-controller.js';
import { indicatorChoice, type IndicatorChoice } from '../lib/indicators.js';
import type { StreamClient, Watcher } from '../lib/stream-client.js';
import type { Timeframe } from '../lib/timeframes.js';
import { useDataStream } from './useDataStream.js';

function fakes() {
  const watching: { pair: string; watcher: Watcher; active: boolean }[] = [];
  const client = {
    watch: vi.fn((pair: string, watcher: Watcher) => {
      const entry = { pair, watcher, active: true };
      watching.push(entry);
      return () => void (entry.active = false);
    }),
  };
  const status: ChartStatus = { bars: 0, live: false, error: null };
  const controller = {
    onStatus: null as null | ((s: ChartStatus) => void),
    setContext: vi.fn(),
    getStatus: () => status,
  };
  return { watching, client: client as unknown as StreamClient, controller, chart: controller as unknown as ChartController };
}

const choices = (...ids: string[]) => ids.map((id) => indicatorChoice(id)!) as IndicatorChoice[];

describe('useDataStream', () => {
  test('the chart watches its pair; pair, timeframe or indicators changing means a new watch', () => {
    const { watching, client, chart, controller } = fakes();
    const props = { pair: 'EUR/USD_otc', tf: '1M' as Timeframe, ind: choices('ema20') };
    const { rerender, unmount } = renderHook((p: typeof props) => useDataStream(client, chart, p.pair, p.tf, p.ind), { initialProps: props });
    expect(watching.map((w) => [w.pair, w.active])).toEqual([['EUR/USD_otc', true]]);
    expect(watching[0]!.watcher).toBe(chart); // the stream hands frames straight to the chart
    expect(controller.setContext).toHaveBeenLastCalledWith('EUR/USD_otc', '1M', props.ind);

    rerender({ ...props }); // same values: nothing to do
    rerender({ ...props, ind: choices('ema20') }); // an equal list: nothing to do
    expect(watching).toHaveLength(1);

    rerender({ ...props, tf: '5S' });
    rerender({ ...props, tf: '5S', ind: choices('ema20', 'rsi14') });
    rerender({ ...props, pair: 'GBP/USD_otc', tf: '5S' });
    expect(controller.setContext.mock.calls.map((c) => [c[0], c[1], (c[2] as IndicatorChoice[]).map((x) => x.id).join()])).toEqual([
      ['EUR/USD_otc', '1M', 'ema20'],
      ['EUR/USD_otc', '5S', 'ema20'],
      ['EUR/USD_otc', '5S', 'ema20,rsi14'],
      ['GBP/USD_otc', '5S', 'ema20'],
    ]);
    expect(watching.map((w) => w.active)).toEqual([false, false, false, true]);
    unmount();
    expect(watching.every((w) => !w.active)).toBe(true);
  });

  test('React state is the chart status only, as the chart reports it', () => {
    const { client, chart, controller } = fakes();
    const { result } = renderHook(() => useDataStream(client, chart, 'EUR/USD_otc', '1M', []));
    expect(result.current).toEqual({ bars: 0, live: false, error: null });
    act(() => controller.onStatus!({ bars: 200, live: true, error: null }));
    expect(result.current).toEqual({ bars: 200, live: true, error: null });
  });
});
