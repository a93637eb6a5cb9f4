import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChartController } from '../chart/chart-controller.js';
import { api, ApiError, type Fetch } from '../lib/api.js';
import { takeBootCandles } from '../lib/boot.js';
import { indicatorKey, type IndicatorChoice } from '../lib/indicators.js';
import type { Timeframe } from '../lib/timeframes.js';
import type { IndicatorValue } from '../lib/types.js';

/** The server's largest `limit` for GET /api/candles. */
export const MAX_HISTORY = 5000;
/** Bars added per scroll-back. */
export const OLDER_STEP = 500;

export interface HistoryState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** Where the first page came from: the Redis cache or the database. */
  source: 'cache' | 'database' | null;
  error: string | null;
  loadingOlder: boolean;
  /** No older bars to load (the pair's whole history is in, or the API's limit is reached). */
  exhausted: boolean;
}

/**
 * Candle history for a chart, cache-first: the first page is GET /api/candles with the server's
 * default limit (the size of the Redis candle cache, so it is a cache hit). It is merged into the
 * chart by bucket time, so joining it to the live stream can neither lose nor double a bar,
 * whichever arrives first. Scrolling back near the oldest bar loads older pages (with their
 * indicator values) until the history or the API's limit ends.
 */
export function useHistoricalCandles(
  controller: ChartController | null,
  pair: string | null,
  timeframe: Timeframe,
  indicators: readonly IndicatorChoice[],
  options: { fetch?: Fetch } = {},
): HistoryState & { loadOlder: () => void; retry: () => void } {
  const [state, setState] = useState<HistoryState>({ status: 'idle', source: null, error: null, loadingOlder: false, exhausted: false });
  const [attempt, setAttempt] = useState(0);
  const context = useRef({ generation: 0, loadingOlder: false, exhausted: false });
  const indicatorsRef = useRef(indicators);
  indicatorsRef.current = indicators;
  const fetchImpl = options.fetch;

  useEffect(() => {
    if (!controller || !pair) return;
    const ctx = context.current;
    const generation = ++ctx.generation;
    ctx.loadingOlder = false;
    ctx.exhausted = false;
    const abort = new AbortController();
    setState({ status: 'loading', source: null, error: null, loadingOlder: false, exhausted: false });
    // The first chart's history may already be on its way (started by index.html).
    const early = fetchImpl ? null : takeBootCandles(pair, timeframe);
    const load = early
      ? early.then((r) => r ?? api.candles(pair, timeframe, undefined, { signal: abort.signal }))
      : api.candles(pair, timeframe, undefined, { fetch: fetchImpl, signal: abort.signal });
    load.then(
      (res) => {
        if (generation !== ctx.generation) return;
        controller.mergeHistory(res.candles);
        setState((s) => ({ ...s, status: 'ready', source: res.source, error: null }));
      },
      (err: Error) => {
        if (generation !== ctx.generation || err.name === 'AbortError') return;
        setState((s) => ({ ...s, status: 'error', error: err instanceof ApiError ? err.message : String(err.message ?? err) }));
      },
    );
    return () => abort.abort();
  }, [controller, pair, timeframe, attempt, fetchImpl]);

  const loadOlder = useCallback(() => {
    const ctx = context.current;
    if (!controller || !pair || ctx.loadingOlder || ctx.exhausted) return;
    const have = controller.bars().length;
    if (have === 0) return;
    const limit = Math.min(MAX_HISTORY, have + OLDER_STEP);
    if (limit <= have) {
      ctx.exhausted = true;
      setState((s) => ({ ...s, exhausted: true }));
      return;
    }
    const generation = ctx.generation;
    ctx.loadingOlder = true;
    setState((s) => ({ ...s, loadingOlder: true }));
    const choices = indicatorsRef.current;
    Promise.all([
      api.candles(pair, timeframe, limit, { fetch: fetchImpl }),
      Promise.all(
        choices.map((c) =>
          api.indicator(pair, timeframe, c.name, c.params, limit, { fetch: fetchImpl }).then(
            (r) => [indicatorKey(c), r.values] as const,
            () => [indicatorKey(c), [] as { time: number; value: IndicatorValue }[]] as const,
          ),
        ),
      ),
    ]).then(
      ([res, ind]) => {
        if (generation !== ctx.generation) return;
        ctx.loadingOlder = false;
        const first = controller.bars()[0]?.time ?? Number.POSITIVE_INFINITY;
        const older = res.candles.filter((c) => c.time < first);
        const indicatorsOlder = Object.fromEntries(ind.map(([k, values]) => [k, values.filter((v) => v.time < first)]));
        controller.mergeHistory(older, indicatorsOlder);
        // Fewer than asked: that was all of it. At the API's limit: no further page exists.
        ctx.exhausted = res.candles.length < limit || limit >= MAX_HISTORY || older.length === 0;
        setState((s) => ({ ...s, loadingOlder: false, exhausted: ctx.exhausted }));
      },
      () => {
        if (generation !== ctx.generation) return;
        ctx.loadingOlder = false;
        setState((s) => ({ ...s, loadingOlder: false }));
      },
    );
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
