import type { TickSource } from '../ingest/ingestor.js';

/**
 * A source of raw ticks: an async iterable of batches of unvalidated tick objects, so every feed
 * is consumed the same way (validated once by the pump). `close()` ends the iteration; idempotent.
 */
export interface Feed extends AsyncIterable<unknown[]> {
  readonly source: TickSource;
  close(): Promise<void>;
}
