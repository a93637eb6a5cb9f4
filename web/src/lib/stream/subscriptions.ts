import type { SubscribeAck, SubscribeRequest } from '../types.js';
import type { PairStream } from './pair-stream.js';
import type { StreamLink } from './link.js';
import type { Demand } from './types.js';

export interface SubscriptionOptions {
  /** Subscribes awaiting their ack at once; the rest wait, and only the latest of a pair is sent. */
  maxInFlight: number;
  /**
   * A chart's subscribe that follows another within this many ms waits until the choices have
   * been still that long (the first of a burst goes at once): fast clicks cost two subscribes.
   */
  settleMs: number;
  now: () => number;
  timeoutMs: number;
  /** Wait before asking again after a subscribe got no answer in time. */
  retryMs: number;
  /** Where the reasons for delayed subscribes go. */
  log?: (message: string) => void;
}

/** A rate-limit answer's wait is taken as given, up to this (a bad value cannot park a chart). */
const MAX_RETRY_AFTER_MS = 60_000;

/** What a pair's watchers add up to: the newest watcher with a demand decides. */
export function requestFor(s: PairStream): SubscribeRequest {
  let demand: Demand | null = null;
  for (const w of s.watchers) if (w.demand) demand = w.demand;
  if (!demand) return { pair: s.pair };
  const req: SubscribeRequest = { pair: s.pair, timeframe: demand.timeframe };
  if (demand.indicators.length > 0) req.indicators = demand.indicators;
  return req;
}

/**
 * Subscribes, latest wins: a few in flight at a time, and while they are, a pair's request waits
 * and is made from its watchers only when sent. So 30 fast clicks through pairs send the first
 * and the last, not 30 snapshots of 100 KB that the server would answer one after another.
 * Charts (a request with a timeframe) go before ticks-only followers.
 */
export class Subscriptions {
  private inFlight = 0;
  private chartsInFlight = 0;
  /** Streams to subscribe, with why: a fresh snapshot is due (`snapshot`), a new chart wants one (`chart`), or the request changed. */
  private readonly waiting = new Map<PairStream, 'snapshot' | 'chart' | 'change'>();
  /** Bumped when the link drops: acks of requests sent before are void. */
  private linkGeneration = 0;
  private lastChartRequestAt = Number.NEGATIVE_INFINITY;
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  /** Subscribe requests sent, for the page's inspection (the end-to-end test counts them). */
  sentCount = 0;

  constructor(
    private readonly link: StreamLink,
    private readonly options: SubscriptionOptions,
  ) {}

  /**
   * Subscribes (again) when what the watchers need differs from what was sent; `chart`: a new
   * chart wants a snapshot of its own (if it is still there when the request goes); `snapshot`:
   * a fresh one is due whatever the request (a reconnect, a seq mismatch).
   */
  sync(s: PairStream, force: false | 'chart' | 'snapshot' = false): void {
    if (!this.link.connected || s.closed) return;
    const req = requestFor(s);
    const had = this.waiting.get(s);
    if (!force && !had && JSON.stringify(req) === s.sent) return;
    this.waiting.set(s, had === 'snapshot' || force === 'snapshot' ? 'snapshot' : had === 'chart' || force === 'chart' ? 'chart' : 'change');
    if (req.timeframe !== undefined) {
      const now = this.options.now();
      const quick = now - this.lastChartRequestAt < this.options.settleMs;
      this.lastChartRequestAt = now;
      if (quick) {
        if (this.settleTimer) clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => {
          this.settleTimer = null;
          this.pump();
        }, this.options.settleMs);
      }
    }
    this.pump();
  }

  cancel(s: PairStream): void {
    this.waiting.delete(s);
  }

  linkDown(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.linkGeneration++;
    this.inFlight = 0;
    this.chartsInFlight = 0;
    this.waiting.clear();
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.size > 0) {
      let next: PairStream | undefined;
      let follower: PairStream | undefined;
      for (const [s, why] of this.waiting) {
        const req = requestFor(s);
        const key = JSON.stringify(req);
        if (s.closed || s.watchers.size === 0 || (key === s.sent && (why === 'change' || (why === 'chart' && req.timeframe === undefined)))) {
          this.waiting.delete(s); // nothing to ask for any more (the chart came and went)
          continue;
        }
        if (req.timeframe !== undefined) {
          if (!this.settleTimer) next ??= s; // charts wait while the choices settle
        } else if (!this.settleTimer && this.chartsInFlight === 0) follower ??= s; // ticks only: after the charts
      }
      next ??= follower;
      if (!next) return;
      this.waiting.delete(next);
      this.send(next);
    }
  }

  private send(s: PairStream): void {
    if (s.retryTimer) clearTimeout(s.retryTimer);
    s.retryTimer = null;
    const req = requestFor(s);
    s.sent = JSON.stringify(req);
    const generation = ++s.generation;
    const linkGeneration = this.linkGeneration;
    const chart = req.timeframe !== undefined;
    this.inFlight++;
    if (chart) this.chartsInFlight++;
    this.sentCount++;
    this.link.socket.timeout(this.options.timeoutMs).emit('subscribe', req, (err: Error | null, ack: SubscribeAck) => {
      if (linkGeneration !== this.linkGeneration) return;
      this.inFlight--;
      if (chart) this.chartsInFlight--;
      if (generation === s.generation && !s.closed) {
        if (err || !ack) {
          // No answer in time: ask again while connected.
          s.sent = null;
          s.retryTimer = setTimeout(() => this.sync(s, 'snapshot'), this.options.retryMs);
        } else if (!ack.ok && typeof ack.retryAfterMs === 'number') {
          // The server's subscribe rate limit: ask again once it says, not at once.
          s.sent = null;
          const wait = Math.min(Math.max(ack.retryAfterMs, 0), MAX_RETRY_AFTER_MS);
          this.options.log?.(`${s.pair}: ${ack.error}; subscribing again in ${wait} ms`);
          s.retryTimer = setTimeout(() => this.sync(s, 'snapshot'), wait);
        } else if (!ack.ok) s.refused(ack.error);
        else s.onSnapshot(ack);
      }
      this.pump();
    });
  }
}
