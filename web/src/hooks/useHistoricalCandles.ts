import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChartController } from '../chart/chart-controller.js';
import { api, ApiError, type Fetch } from '../lib/api.js';
import { takeBootCandles } from '../lib/boot.js';
import { indicatorKey, type IndicatorChoice } from '../lib/indicators.js';
import type { Timeframe } from '../lib/timeframes.js';
import type { IndicatorValue } from '../lib/types.js';

/** Bars per older page (GET /api/candles?before=). */
export const PAGE_SIZE = 500;

export interface HistoryState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** Where the first page came from: the Redis cache, the database, or (tick chart) the recent ticks. */
  source: 'cache' | 'database' | 'recent' | null;
  error: string | null;
  loadingOlder: boolean;
  /** The pair's whole stored history is loaded. */
  exhausted: boolean;
}

export const errorText = (err: unknown) => (err instanceof ApiError ? err.message : String((err as Error)?.message ?? err));

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
  const [state, setState] = useState<HistoryState>({ status: 'idle', source: null, error: null, loadingOlder: false, exhausted: false });
  const [attempt, setAttempt] = useState(0);
  const context = useRef({ generation: 0, loadingOlder: false, exhausted: false, asked: new Set<number>(), abort: new AbortController() });
  const indicatorsRef = useRef(indicators);
  indicatorsRef.current = indicators;
  const fetchImpl = options.fetch;

  useEffect(() => {
    if (!controller || !pair || !timeframe) return;
    const ctx = context.current;
    const generation = ++ctx.generation;
    ctx.abort.abort();
    const abort = (ctx.abort = new AbortController());
    ctx.loadingOlder = false;
    ctx.exhausted = false;
    ctx.asked = new Set();
    setState({ status: 'loading', source: null, error: null, loadingOlder: false, exhausted: false });
    // The first chart's history may already be on its way (started by index.html).
    const early = fetchImpl ? null : takeBootCandles(pair, timeframe);
    const load = early
      ? early.then((r) => r ?? api.candles(pair, timeframe, undefined, { signal: abort.signal }))
      : api.candles(pair, timeframe, undefined, { fetch: fetchImpl, signal: abort.signal });
    load.then(
      (res) => {
        if (generation !== ctx.generation) return;
        try {
          controller.mergeHistory(res.candles);
        } finally {
          setState((s) => ({ ...s, status: 'ready', source: res.source, error: null }));
        }
      },
      (err: Error) => {
        if (generation !== ctx.generation || err.name === 'AbortError') return;
        setState((s) => ({ ...s, status: 'error', error: errorText(err) }));
      },
    );
    return () => abort.abort();
  }, [controller, pair, timeframe, attempt, fetchImpl]);

  const loadOlder = useCallback(() => {
    const ctx = context.current;
    if (!controller || !pair || !timeframe || ctx.loadingOlder || ctx.exhausted) return;
    const before = controller.oldestTime();
    if (before === null || ctx.asked.has(before)) return; // each page once
    ctx.asked.add(before);
    const generation = ctx.generation;
    const signal = ctx.abort.signal;
    ctx.loadingOlder = true;
    setState((s) => ({ ...s, loadingOlder: true }));
    const choices = indicatorsRef.current;
    const opts = { fetch: fetchImpl, signal, before };
    Promise.all([
      api.candles(pair, timeframe, PAGE_SIZE, opts),
      Promise.all(
        choices.map((c) =>
          api.indicator(pair, timeframe, c.name, c.params, PAGE_SIZE, opts).then(
            (r) => [indicatorKey(c), r.values] as const,
            () => [indicatorKey(c), [] as { time: number; value: IndicatorValue }[]] as const,
          ),
        ),
      ),
    ])
      .then(([res, ind]) => {
        if (generation !== ctx.generation) return;
        // Fewer than a page: the stored history ends here.
        ctx.exhausted = res.candles.length < PAGE_SIZE;
        controller.mergeHistory(res.candles, Object.fromEntries(ind));
      })
      .catch((err: Error) => {
        // A failed page may be asked for again on the next scroll.
        if (generation === ctx.generation && err.name !== 'AbortError') ctx.asked.delete(before);
      })
      .finally(() => {
        if (generation !== ctx.generation) return;
        ctx.loadingOlder = false;
        setState((s) => ({ ...s, loadingOlder: false, exhausted: ctx.exhausted }));
      });
  }, [controller, pair, timeframe, fetchImpl]);

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
