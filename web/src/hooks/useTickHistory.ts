import type { TickChartController } from '../chart/tick-chart-controller.js';
import { api, type Fetch } from '../lib/api.js';
import { usePagedHistory, type HistoryState } from './usePagedHistory.js';

/** Recent ticks asked for first, and ticks per older page. */
export const TICK_PAGE = 1000;

/**
 * The tick chart's history: the recent ticks (GET /api/ticks, joined by seq with the live
 * snapshot), then, as the user scrolls back, older pages of stored ticks
 * (GET /api/ticks?before=<oldest tick's ms>), each once, until the stored history ends.
 */
export function useTickHistory(
  controller: TickChartController | null,
  pair: string | null,
  options: { fetch?: Fetch } = {},
): HistoryState & { loadOlder: () => void; retry: () => void } {
  const fetch = options.fetch;
  return usePagedHistory(controller, pair, {
    first: async (signal) => {
      const recent = await api.ticks(pair!, TICK_PAGE, { fetch, signal });
      // A full list may end inside a millisecond: leave that one to the first older page.
      const cut = recent.length >= TICK_PAGE ? recent.filter((t) => t.timestamp > recent[0]!.timestamp) : recent;
      return { source: 'recent', apply: () => controller!.mergeRecent(cut) };
    },
    oldest: () => controller!.oldestTimestamp(),
    older: async (before, signal) => {
      const page = await api.ticksBefore(pair!, before, TICK_PAGE, { fetch, signal });
      return { exhausted: page.length < TICK_PAGE, apply: () => controller!.prependOlder(page) };
    },
  });
}
