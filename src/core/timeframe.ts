/** The candle timeframes QuFLX serves, and their lengths. */
export const TIMEFRAMES = ['5S', '15S', '30S', '1M', '5M', '15M', '30M', '1H', '4H', '1D'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

const SECONDS: Record<Timeframe, number> = {
  '5S': 5,
  '15S': 15,
  '30S': 30,
  '1M': 60,
  '5M': 300,
  '15M': 900,
  '30M': 1800,
  '1H': 3600,
  '4H': 14_400,
  '1D': 86_400,
};

export function timeframeSeconds(tf: Timeframe): number {
  return SECONDS[tf];
}

/** Case-insensitive parse; null when `value` is not a timeframe. */
export function parseTimeframe(value: unknown): Timeframe | null {
  if (typeof value !== 'string') return null;
  const upper = value.toUpperCase();
  return (TIMEFRAMES as readonly string[]).includes(upper) ? (upper as Timeframe) : null;
}
