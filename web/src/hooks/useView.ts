import { useCallback, useEffect, useRef, useState } from 'react';
import { isChartTimeframe } from '../lib/timeframes.js';
import { isLayout, parseView, viewSearch, type View } from '../lib/view-url.js';

const KEYS = { pair: 'quflx.pair', tf: 'quflx.timeframe', layout: 'quflx.layout' } as const;

function readStored(): View {
  const read = (key: string): unknown => {
    try {
      return JSON.parse(globalThis.localStorage?.getItem(key) ?? 'null');
    } catch {
      return null;
    }
  };
  const pair = read(KEYS.pair);
  const tf = read(KEYS.tf);
  const layout = read(KEYS.layout);
  return { pair: typeof pair === 'string' && pair ? pair : null, tf: isChartTimeframe(tf) ? tf : '1M', layout: isLayout(layout) ? layout : 1 };
}

function store(view: View): void {
  try {
    if (view.pair) localStorage.setItem(KEYS.pair, JSON.stringify(view.pair));
    localStorage.setItem(KEYS.tf, JSON.stringify(view.tf));
    localStorage.setItem(KEYS.layout, JSON.stringify(view.layout));
  } catch {
    /* private mode: the URL still carries the view */
  }
}

const fromLocation = (): View => ({ ...readStored(), ...parseView(location.search) });

/**
 * The view (pair, timeframe or tick, layout) in the URL: a link opens it, every choice pushes a
 * history entry (so back and forward move between views), and the last one is remembered for a
 * bare visit. `replace` corrects the URL without a new entry (the pair the page picked by itself).
 */
export function useView(): [View, (change: Partial<View>, options?: { replace?: boolean }) => void] {
  const [view, setView] = useState<View>(fromLocation);
  const current = useRef(view);

  useEffect(() => {
    const onPop = () => {
      current.current = fromLocation();
      setView(current.current);
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const change = useCallback((partial: Partial<View>, options: { replace?: boolean } = {}) => {
    const prev = current.current;
    const next = { ...prev, ...partial };
    if (next.pair === prev.pair && next.tf === prev.tf && next.layout === prev.layout && location.search === viewSearch(next)) return;
    current.current = next;
    store(next);
    const search = viewSearch(next);
    if (search !== location.search) {
      if (options.replace) history.replaceState(history.state, '', search);
      else history.pushState(null, '', search);
    }
    setView(next);
  }, []);

  return [view, change];
}
