import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api.js';

export interface HistoryState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** Where the first page came from: the Redis cache, the database, or (tick chart) the recent ticks. */
  source: 'cache' | 'database' | 'recent' | null;
  error: string | null;
  loadingOlder: boolean;
  /** The whole stored history is loaded. */
  exhausted: boolean;
}

export const errorText = (err: unknown) => (err instanceof ApiError ? err.message : String((err as Error)?.message ?? err));

/** A page read, not yet given to the chart: `apply` does that (only if it is still wanted). */
export interface FirstPage {
  source: HistoryState['source'];
  apply: () => void;
}
export interface OlderPage {
  /** A short page: the stored history ends here. */
  exhausted: boolean;
  apply: () => void;
}

/** What a chart's history is read from. Read at call time: it may change with every render. */
export interface PagedHistorySource {
  /** The first page (newest history). */
  first: (signal: AbortSignal) => Promise<FirstPage>;
  /** The chart's oldest time (the `before` of the next older page), or null when it has none. */
  oldest: () => number | null;
  older: (before: number, signal: AbortSignal) => Promise<OlderPage>;
}

/** A chart that asks for older history as the user scrolls back. */
export interface PagingChart {
  onNeedOlder: (() => void) | null;
}

/**
 * A chart's history in pages: the first page when `key` (what the history is of; null: nothing)
 * or the chart changes, then, as the user scrolls back near the oldest bar, the page before it,
 * each page once, until a short page says the stored history has ended. A change of key aborts
 * what is in flight (latest wins), and a page answered for an older key is dropped; every path,
 * errors included, leaves the loading state. A failed older page may be asked for again.
 */
export function usePagedHistory(
  chart: PagingChart | null,
  key: string | null,
  source: PagedHistorySource,
): HistoryState & { loadOlder: () => void; retry: () => void } {
  const [state, setState] = useState<HistoryState>({ status: 'idle', source: null, error: null, loadingOlder: false, exhausted: false });
  const [attempt, setAttempt] = useState(0);
  const context = useRef({ generation: 0, loadingOlder: false, exhausted: false, asked: new Set<number>(), abort: new AbortController() });
  const sourceRef = useRef(source);
  sourceRef.current = source;

  useEffect(() => {
    if (!chart || key === null) return;
    const ctx = context.current;
    const generation = ++ctx.generation;
    ctx.abort.abort();
    const abort = (ctx.abort = new AbortController());
    Object.assign(ctx, { loadingOlder: false, exhausted: false, asked: new Set<number>() });
    setState({ status: 'loading', source: null, error: null, loadingOlder: false, exhausted: false });
    sourceRef.current.first(abort.signal).then(
      (page) => {
        if (generation !== ctx.generation) return;
        try {
          page.apply();
        } finally {
          setState((s) => ({ ...s, status: 'ready', source: page.source, error: null }));
        }
      },
      (err: Error) => {
        if (generation !== ctx.generation || err.name === 'AbortError') return;
        setState((s) => ({ ...s, status: 'error', error: errorText(err) }));
      },
    );
    return () => abort.abort();
  }, [chart, key, attempt]);

  const loadOlder = useCallback(() => {
    const ctx = context.current;
    if (!chart || key === null || ctx.loadingOlder || ctx.exhausted) return;
    const before = sourceRef.current.oldest();
    if (before === null || ctx.asked.has(before)) return; // each page once
    ctx.asked.add(before);
    const generation = ctx.generation;
    ctx.loadingOlder = true;
    setState((s) => ({ ...s, loadingOlder: true }));
    sourceRef.current
      .older(before, ctx.abort.signal)
      .then((page) => {
        if (generation !== ctx.generation) return;
        ctx.exhausted = page.exhausted;
        page.apply();
      })
      .catch((err: Error) => {
        if (generation === ctx.generation && err.name !== 'AbortError') ctx.asked.delete(before);
      })
      .finally(() => {
        if (generation !== ctx.generation) return;
        ctx.loadingOlder = false;
        setState((s) => ({ ...s, loadingOlder: false, exhausted: ctx.exhausted }));
      });
  }, [chart, key]);

  useEffect(() => {
    if (!chart) return;
    chart.onNeedOlder = loadOlder;
    return () => {
      if (chart.onNeedOlder === loadOlder) chart.onNeedOlder = null;
    };
  }, [chart, loadOlder]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  return { ...state, loadOlder, retry };
}
