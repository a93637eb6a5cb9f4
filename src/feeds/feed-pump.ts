import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FieldIssue } from '../core/errors.js';
import { validateTick } from '../core/tick-validation.js';
import type { Tick } from '../core/tick.js';
import type { Ingestor } from '../ingest/ingestor.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import type { Feed } from './feed.js';

/** Ticks validated and offered per slice of a message; the event loop runs between slices. */
export const PUMP_SLICE = 5000;

/**
 * Moves a feed's batches into the ingestor. A bad tick from a feed is dropped alone (the feed
 * cannot be asked to fix it), counted, and logged at most every few seconds. A big message is
 * taken in slices, letting the event loop (and the ingest queue) move between them; what the
 * bounded ingest queue cannot take is dropped, and the message's account is logged.
 */
export class FeedPump {
  private readonly done: Promise<void>;
  private readonly throttled: ThrottledLog;
  private readonly overflowLog: ThrottledLog;

  constructor(
    private readonly feed: Feed,
    private readonly ingestor: Ingestor,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.throttled = new ThrottledLog(log);
    this.overflowLog = new ThrottledLog(log);
    this.done = this.run();
  }

  private async run(): Promise<void> {
    try {
      for await (const batch of this.feed) await this.take(batch);
    } catch (err) {
      this.log.error({ err, source: this.feed.source }, 'feed failed');
    }
  }

  private async take(batch: unknown[]): Promise<void> {
    let valid = 0;
    let taken = 0;
    for (let start = 0; start < batch.length; start += PUMP_SLICE) {
      if (start > 0) await nextTurn();
      const now = Date.now();
      const issues: FieldIssue[] = [];
      const ticks: Tick[] = [];
      const end = Math.min(batch.length, start + PUMP_SLICE);
      for (let i = start; i < end; i++) {
        const t = validateTick(batch[i], i, now, issues);
        if (t) ticks.push(t);
      }
      if (issues.length > 0) this.reject(issues);
      valid += ticks.length;
      taken += this.ingestor.offer(ticks, this.feed.source);
    }
    if (taken < valid) {
      this.overflowLog.warn(
        { source: this.feed.source, ticks: batch.length, valid, taken, dropped: valid - taken, queued: this.ingestor.backlog },
        `ingest queue full: took ${taken} of the ${valid} valid ticks of a feed message, dropped ${valid - taken}`,
      );
    }
  }

  /** Counts and logs a message the feed sent that is not a tick at all (not JSON). */
  badMessage(reason: string): void {
    this.metrics.ticksRejected.inc({ source: this.feed.source });
    this.throttled.warn({ source: this.feed.source, reason }, 'feed sent a bad message');
  }

  private reject(issues: FieldIssue[]): void {
    this.metrics.ticksRejected.inc({ source: this.feed.source }, new Set(issues.map((i) => i.index)).size);
    this.throttled.warn({ source: this.feed.source, issues: issues.slice(0, 5) }, 'feed sent invalid ticks; dropped');
  }

  async close(): Promise<void> {
    await this.feed.close();
    await this.done;
  }
}
