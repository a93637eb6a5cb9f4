/** How a candle chart draws its bars. */
export type ChartType = 'candles' | 'bars' | 'line' | 'area' | 'heikin-ashi';

export const CHART_TYPES: readonly { type: ChartType; label: string; icon: string }[] = [
  { type: 'candles', label: 'Candles', icon: 'M4 3v10M4 5h-1.5v6H5.5V5zM11 2v12M9.5 4h3v6h-3z' },
  { type: 'heikin-ashi', label: 'Heikin-Ashi', icon: 'M4 3v10M2.5 5h3v6h-3zM11 2v12M9.5 4h3v6h-3zM2.5 8h3M9.5 7h3' },
  { type: 'bars', label: 'Bars', icon: 'M4 2v12M2 5h2M4 11h2M11 3v10M9 10h2M11 5h2' },
  { type: 'line', label: 'Line', icon: 'M1.5 12l4-5 3 3 6-7' },
  { type: 'area', label: 'Area', icon: 'M1.5 12l4-5 3 3 6-7V14.5H1.5z' },
];

export function isChartType(v: unknown): v is ChartType {
  return CHART_TYPES.some((c) => c.type === v);
}

/** The next type in the menu's order (the `C` key). */
export function nextChartType(type: ChartType): ChartType {
  const i = CHART_TYPES.findIndex((c) => c.type === type);
  return CHART_TYPES[(i + 1) % CHART_TYPES.length]!.type;
}
