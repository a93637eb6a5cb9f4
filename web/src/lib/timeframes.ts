/** Every timeframe QuFLX serves (as src/core/timeframe.ts), with its length in seconds. */
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

export function isTimeframe(value: unknown): value is Timeframe {
  return typeof value === 'string' && (TIMEFRAMES as readonly string[]).includes(value);
}

/** Bucket open in epoch seconds, exactly as the server buckets (src/core/candle.ts). */
export function bucketTime(timestampMs: number, tfSeconds: number): number {
  return Math.floor(timestampMs / 1000 / tfSeconds) * tfSeconds;
}
