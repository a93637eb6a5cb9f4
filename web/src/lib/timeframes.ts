/** The server's own timeframe list and lengths, and its bucketing rule (src/core, src/shared). */
import { TIMEFRAMES, type Timeframe } from '../../../src/core/timeframe.js';

export { TIMEFRAMES, timeframeSeconds, type Timeframe } from '../../../src/core/timeframe.js';
export { bucketOpen as bucketTime } from '../../../src/shared/bucket-time.js';

/** What a chart shows: candles of a timeframe, or every tick. */
export type ChartTimeframe = Timeframe | 'tick';

export function isTimeframe(value: unknown): value is Timeframe {
  return typeof value === 'string' && (TIMEFRAMES as readonly string[]).includes(value);
}

export function isChartTimeframe(value: unknown): value is ChartTimeframe {
  return value === 'tick' || isTimeframe(value);
}

/** A timeframe from a link or the user: any case, or `tick`; null when it is neither. */
export function parseChartTimeframe(value: string | null | undefined): ChartTimeframe | null {
  if (!value) return null;
  if (value.toLowerCase() === 'tick') return 'tick';
  const upper = value.toUpperCase();
  return isTimeframe(upper) ? upper : null;
}
