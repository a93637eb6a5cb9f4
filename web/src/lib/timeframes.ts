/** The server's own timeframe list and lengths (the pure core has no server code in it). */
import { TIMEFRAMES, type Timeframe } from '../../../src/core/timeframe.js';

export { TIMEFRAMES, timeframeSeconds, type Timeframe } from '../../../src/core/timeframe.js';

export function isTimeframe(value: unknown): value is Timeframe {
  return typeof value === 'string' && (TIMEFRAMES as readonly string[]).includes(value);
}

/** Bucket open in epoch seconds, exactly as the server buckets (src/core/candle.ts). */
export function bucketTime(timestampMs: number, tfSeconds: number): number {
  return Math.floor(timestampMs / 1000 / tfSeconds) * tfSeconds;
}
