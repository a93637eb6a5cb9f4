import type { FeedConfig } from '../config/config.js';
import { FeedHealthMonitor, type FeedHealthOptions, type PairHealth } from '../core/feed-health.js';
import type { Tick } from '../core/tick.js';
import type { TickSource } from '../ingest/ingestor.js';
import type { Metrics } from '../observability/metrics.js';
import type { FeedReport } from '../shared/http.js';
import type { Feed } from './feed.js';
import { WsFeed } from './ws-feed.js';

export type { FeedReport };

/**
 * Feed health for the whole process: every accepted tick, whatever its source, goes through one
 * FeedHealthMonitor; /health, /metrics and the page read the result here.
 */
export class FeedWatch {
  private readonly monitor: FeedHealthMonitor;
  private feed: Feed | null = null;

  constructor(
    private readonly kind: FeedConfig['kind'],
    private readonly metrics: Metrics,
    options: Partial<FeedHealthOptions> = {},
  ) {
    this.monitor = new FeedHealthMonitor(options);
    metrics.feedHealthCounts = () => this.monitor.counts(Date.now());
  }

  setFeed(feed: Feed | null): void {
    this.feed = feed;
    // The Chrome feed sets quflx_feed_up itself; a ws:// feed's link is read at scrape time.
    this.metrics.feedLinks = feed instanceof WsFeed ? () => [{ source: 'ws', up: feed.state === 'open' }] : null;
  }

  /** Newly accepted ticks (the ingestor's hook). */
  accepted(ticks: readonly Tick[], source: TickSource): void {
    const suspects = this.monitor.observe(ticks, source, Date.now());
    if (suspects > 0) this.metrics.feedSuspectTicks.inc({ source }, suspects);
  }

  report(now = Date.now()): FeedReport {
    const pairs = this.monitor.snapshot(now);
    return {
      kind: this.kind,
      ...this.linkStatus(),
      pairs,
      stale: pairs.filter((p) => p.stale).map((p) => p.pair),
      suspect: pairs.filter((p) => p.suspect).map((p) => p.pair),
    };
  }

  private linkStatus(): { status: FeedReport['status']; [detail: string]: unknown } {
    const feed = this.feed;
    if (!feed) return { status: 'off' };
    if (feed.describe) return feed.describe();
    if (feed instanceof WsFeed) return { status: feed.state === 'open' ? 'up' : 'down', connects: feed.connects };
    return { status: 'up' };
  }
}
