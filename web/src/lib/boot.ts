import type { Asset, CandlesResponse } from './types.js';

/**
 * Requests index.html starts before the app's code has loaded (see the inline script there):
 * the pair list and the first chart's history. Each is handed over once, and only if it is what
 * the app asks for; otherwise the app fetches as usual.
 */
interface Boot {
  assets?: Promise<Asset[] | null>;
  candles?: Promise<{ pair: string; timeframe: string; response: CandlesResponse } | null>;
}

declare global {
  interface Window {
    __QUFLX_BOOT__?: Boot;
  }
}

function boot(): Boot {
  return (typeof window !== 'undefined' && window.__QUFLX_BOOT__) || {};
}

export function takeBootAssets(): Promise<Asset[] | null> | null {
  const b = boot();
  const p = b.assets ?? null;
  delete b.assets;
  return p;
}

/** The prefetched history if it is for this pair and timeframe (resolves null otherwise). */
export function takeBootCandles(pair: string, timeframe: string): Promise<CandlesResponse | null> | null {
  const b = boot();
  const p = b.candles;
  if (!p) return null;
  delete b.candles;
  return p.then((c) => (c && c.pair === pair && c.timeframe === timeframe ? c.response : null));
}
