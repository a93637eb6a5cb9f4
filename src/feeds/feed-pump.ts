import type { FieldIssue } from '../core/errors.js';
import { validateTick } from '../core/tick-validation.js';
import type { Tick } from '../core/tick.js';
import type { Ingestor } from '../ingest/ingestor.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import type { Feed } from './feed.js';

/**
 * Moves a feed's batches into the ingestor. A bad tick from a feed is dropped alone (the feed
 * cannot be asked to fix it), counted, and logged at most every few seconds.
 */
export class FeedPump {
  private readonly done: Promise<void>;
  private readonly throttled: ThrottledLog;

  constructor(
    private readonly feed: Feed,
    private readonly ingestor: Ingestor,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.throttled = new ThrottledLog(log);
    this.done = this.run();
  }

  private async run(): Promise<void> {
    try {
      for await (const batch of this.feed) {
        const now = Date.now();
        const issues: FieldIssue[] = [];
        const ticks: Tick[] = [];
        batch.forEach((raw, i) => {
          const t = validateTick(raw, i, now, issues);
          if (t) ticks.push(t);
        });
        if (issues.length > 0) this.reject(issues);
        this.ingestor.offer(ticks, this.feed.source);
      }
    } catch (err) {
      this.log.error({ err, source: this.feed.source }, 'feed failed');
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
