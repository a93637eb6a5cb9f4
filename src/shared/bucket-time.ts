/**
 * The one bucketing rule of candles, for the server (core/candle.ts) and the browser (which moves
 * the forming bar with each tick before the server's candle event arrives): the bucket open in
 * epoch seconds, UTC-aligned, from the tick's own timestamp.
 */
export function bucketOpen(timestampMs: number, tfSeconds: number): number {
  return Math.floor(timestampMs / 1000 / tfSeconds) * tfSeconds;
}
