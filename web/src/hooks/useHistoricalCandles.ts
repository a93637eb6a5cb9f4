import type { ChartController } from '../chart/chart-controller.js';
import { api, type Fetch } from '../lib/api.js';
import { takeBootCandles } from '../lib/boot.js';
import { indicatorKey, type IndicatorChoice } from '../lib/indicators.js';
import type { Timeframe } from '../lib/timeframes.js';
import type { IndicatorValue } from '../lib/types.js';
import { usePagedHistory, type HistoryState } from './usePagedHistory.js';

/** Bars per older page (GET /api/candles?before=). */
export const PAGE_SIZE = 500;

/**
 * Candle history for a chart. The first page is GET /api/candles with the server's default limit
 * (the size of the Redis candle cache, so a cache hit), merged into the chart by bucket time, so
 * joining it to the live stream can neither lose nor double a bar. Scrolling back near the oldest
 * bar loads the page before it (`before=<oldest bar time>`, with its indicator values), each page
 * once, until a short page says the stored history has ended. A switch of pair or timeframe
 * aborts what is in flight (latest wins); every path, errors included, leaves the loading state.
 */
export function useHistoricalCandles(
  controller: ChartController | null,
  pair: string | null,
  timeframe: Timeframe | null,
  indicators: readonly IndicatorChoice[],
  options: { fetch?: Fetch } = {},
): HistoryState & { loadOlder: () => void; retry: () => void } {
  const fetch = options.fetch;
  return usePagedHistory(controller, pair && timeframe ? `${pair} ${timeframe}` : null, {
    first: async (signal) => {
      // The first chart's history may already be on its way (started by index.html).
      const early = fetch ? null : await takeBootCandles(pair!, timeframe!);
      const res = early ?? (await api.candles(pair!, timeframe!, undefined, { fetch, signal }));
      return { source: res.source, apply: () => controller!.mergeHistory(res.candles) };
    },
    oldest: () => controller!.oldestTime(),
    older: async (before, signal) => {
      const opts = { fetch, signal, before };
      const [res, values] = await Promise.all([
        api.candles(pair!, timeframe!, PAGE_SIZE, opts),
        Promise.all(
          indicators.map((c) =>
            api.indicator(pair!, timeframe!, c.name, c.params, PAGE_SIZE, opts).then(
              (r) => [indicatorKey(c), r.values] as const,
              () => [indicatorKey(c), [] as { time: number; value: IndicatorValue }[]] as const,
            ),
          ),
        ),
      ]);
      // Fewer than a page: the stored history ends here.
      return { exhausted: res.candles.length < PAGE_SIZE, apply: () => controller!.mergeHistory(res.candles, Object.fromEntries(values)) };
    },
  });
}
