import { useCallback, useEffect, useRef, useState } from 'react';
import type { TickChartController } from '../chart/tick-chart-controller.js';
import { api, type Fetch } from '../lib/api.js';
import { errorText, type HistoryState } from './useHistoricalCandles.js';

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
  const [state, setState] = useState<HistoryState>({ status: 'idle', source: null, error: null, loadingOlder: false, exhausted: false });
  const [attempt, setAttempt] = useState(0);
  const context = useRef({ generation: 0, loadingOlder: false, exhausted: false, asked: new Set<number>(), abort: new AbortController() });
  const fetchImpl = options.fetch;

  useEffect(() => {
    if (!controller || !pair) return;
    const ctx = context.current;
    const generation = ++ctx.generation;
    ctx.abort.abort();
    const abort = (ctx.abort = new AbortController());
    Object.assign(ctx, { loadingOlder: false, exhausted: false, asked: new Set<number>() });
    setState({ status: 'loading', source: null, error: null, loadingOlder: false, exhausted: false });
    api.ticks(pair, TICK_PAGE, { fetch: fetchImpl, signal: abort.signal }).then(
      (recent) => {
        if (generation !== ctx.generation) return;
        // A full list may end inside a millisecond: leave that one to the first older page.
        const cut = recent.length >= TICK_PAGE ? recent.filter((t) => t.timestamp > recent[0]!.timestamp) : recent;
        try {
          controller.mergeRecent(cut);
        } finally {
          setState((s) => ({ ...s, status: 'ready', source: 'recent', error: null }));
        }
      },
      (err: Error) => {
        if (generation !== ctx.generation || err.name === 'AbortError') return;
        setState((s) => ({ ...s, status: 'error', error: errorText(err) }));
      },
    );
    return () => abort.abort();
  }, [controller, pair, attempt, fetchImpl]);

  const loadOlder = useCallback(() => {
    const ctx = context.current;
    if (!controller || !pair || ctx.loadingOlder || ctx.exhausted) return;
    const before = controller.oldestTimestamp();
    if (before === null || ctx.asked.has(before)) return;
    ctx.asked.add(before);
    const generation = ctx.generation;
    ctx.loadingOlder = true;
    setState((s) => ({ ...s, loadingOlder: true }));
    api
      .ticksBefore(pair, before, TICK_PAGE, { fetch: fetchImpl, signal: ctx.abort.signal })
      .then((page) => {
        if (generation !== ctx.generation) return;
        ctx.exhausted = page.length < TICK_PAGE;
        controller.prependOlder(page);
      })
      .catch((err: Error) => {
        if (generation === ctx.generation && err.name !== 'AbortError') ctx.asked.delete(before);
      })
      .finally(() => {
        if (generation !== ctx.generation) return;
        ctx.loadingOlder = false;
        setState((s) => ({ ...s, loadingOlder: false, exhausted: ctx.exhausted }));
      });
  }, [controller, pair, fetchImpl]);

  useEffect(() => {
    if (!controller) return;
    controller.onNeedOlder = loadOlder;
    return () => {
      if (controller.onNeedOlder === loadOlder) controller.onNeedOlder = null;
    };
  }, [controller, loadOlder]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  return { ...state, loadOlder, retry };
}
