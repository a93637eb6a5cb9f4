/**
 * Digits a pair is quoted to: FX pairs as the simulator quotes them (3 for JPY pairs, else 5);
 * given a price, larger prices get fewer (gold at 2650 is quoted to 2, not 5).
 */
export function pricePrecision(pair: string, price?: number | null): number {
  const fx = /JPY/i.test(pair) ? 3 : 5;
  if (price === undefined || price === null || !Number.isFinite(price)) return fx;
  const p = Math.abs(price);
  if (p >= 1000) return 2;
  if (p >= 100) return 3;
  if (p >= 10) return Math.min(fx, 4);
  return fx;
}

export function formatPrice(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

export function formatChange(pct: number | null): string {
  if (pct === null || !Number.isFinite(pct)) return '–';
  const sign = pct > 0 ? '+' : pct < 0 ? '−' : '';
  return `${sign}${Math.abs(pct).toFixed(2)}%`;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 100) return perSecond.toFixed(0);
  return perSecond.toFixed(1);
}

export function formatVolume(v: number): string {
  if (v >= 1_000_000) return `${(v / 1_000_000).toFixed(2)}M`;
  if (v >= 10_000) return `${(v / 1000).toFixed(1)}K`;
  return String(v);
}

export function formatLatency(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** `EUR/USD_otc` -> `EUR/USD` and an OTC tag. */
export function splitPair(pair: string): { base: string; otc: boolean } {
  const otc = /_otc$/i.test(pair);
  return { base: otc ? pair.slice(0, -4) : pair, otc };
}
