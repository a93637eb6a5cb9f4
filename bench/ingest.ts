import { performance } from 'node:perf_hooks';
import { validateTickBatch } from '../src/core/tick-validation.js';
import type { Ingestor } from '../src/ingest/ingestor.js';
import type { RawTick, TickFactory } from './tick-factory.js';

export interface IngestRunOptions {
  ticks: number;
  /** Ticks per submit() call (one HTTP body or feed message). */
  batchSize: number;
  /** submit() calls kept in flight at once. */
  concurrency: number;
}

export interface IngestRunResult {
  ticks: number;
  accepted: number;
  duplicates: number;
  rejectedBatches: number;
  wallMs: number;
  ticksPerS: number;
  /** Every tick got a seq > 0. */
  allAccepted: boolean;
}

/**
 * Ingest throughput through the whole path: raw objects are validated (as the HTTP route does)
 * and submitted to the Ingestor by `concurrency` workers, each awaiting its own submit() before
 * taking the next batch. The raw ticks are made beforehand so the clock times QuFLX, not the
 * generator. ticks/s = accepted / wall time.
 */
export async function measureIngest(ingestor: Ingestor, factory: TickFactory, options: IngestRunOptions): Promise<IngestRunResult> {
  const batches: RawTick[][] = [];
  for (let made = 0; made < options.ticks; made += options.batchSize) {
    batches.push(factory.batch(Math.min(options.batchSize, options.ticks - made), made));
  }
  let next = 0;
  let accepted = 0;
  let duplicates = 0;
  let rejectedBatches = 0;
  let zeroSeqs = 0;
  const worker = async () => {
    while (next < batches.length) {
      const raw = batches[next++]!;
      const ticks = validateTickBatch(raw, Date.now());
      try {
        const result = await ingestor.submit(ticks, 'bench');
        accepted += result.accepted;
        duplicates += result.duplicates;
        for (const seq of result.seqs) if (!(seq > 0)) zeroSeqs++;
      } catch {
        rejectedBatches++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const wallMs = performance.now() - t0;
  return {
    ticks: options.ticks,
    accepted,
    duplicates,
    rejectedBatches,
    wallMs,
    ticksPerS: accepted / (wallMs / 1000),
    allAccepted: accepted === options.ticks && zeroSeqs === 0 && rejectedBatches === 0,
  };
}
