import type { TickSource } from '../ingest/ingestor.js';

/**
 * A source of raw ticks: an async iterable of batches of unvalidated tick objects, so every feed
 * is consumed the same way (validated once by the pump). `close()` ends the iteration; idempotent.
 */
export interface Feed extends AsyncIterable<unknown[]> {
  readonly source: TickSource;
  close(): Promise<void>;
  /** What the feed is connected to now, for /health (feeds without a link of their own omit it). */
  describe?(): FeedLinkStatus;
}

/** A feed's link as /health shows it: `up` while connected or attached; details per kind of feed. */
export interface FeedLinkStatus {
  status: 'up' | 'down';
  [detail: string]: unknown;
}
