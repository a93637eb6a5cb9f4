import type { SubscribeAck, SubscribeRequest } from '../types.js';
import type { PairStream } from './pair-stream.js';
import type { StreamLink } from './link.js';
import type { Demand } from './types.js';

export interface SubscriptionOptions {
  /** Subscribes awaiting their ack at once; the rest wait, and only the latest of a pair is sent. */
  maxInFlight: number;
  timeoutMs: number;
  /** Wait before asking again after a subscribe got no answer in time. */
  retryMs: number;
}

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
  private readonly waiting = new Set<PairStream>();
  /** Bumped when the link drops: acks of requests sent before are void. */
  private linkGeneration = 0;
  /** Subscribe requests sent, for the page's inspection (the end-to-end test counts them). */
  sentCount = 0;

  constructor(
    private readonly link: StreamLink,
    private readonly options: SubscriptionOptions,
  ) {}

  /** Subscribes (again) when what the watchers need differs from what was sent, or when forced. */
  sync(s: PairStream, force = false): void {
    if (!this.link.connected || s.closed) return;
    if (!force && JSON.stringify(requestFor(s)) === s.sent && !this.waiting.has(s)) return;
    this.waiting.add(s);
    this.pump();
  }

  cancel(s: PairStream): void {
    this.waiting.delete(s);
  }

  linkDown(): void {
    this.linkGeneration++;
    this.inFlight = 0;
    this.waiting.clear();
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.size > 0) {
      let next: PairStream | undefined;
      for (const s of this.waiting) if (requestFor(s).timeframe !== undefined) (next ??= s);
      next ??= this.waiting.values().next().value!;
      this.waiting.delete(next);
      if (next.closed || next.watchers.size === 0) continue;
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
    this.inFlight++;
    this.sentCount++;
    this.link.socket.timeout(this.options.timeoutMs).emit('subscribe', req, (err: Error | null, ack: SubscribeAck) => {
      if (linkGeneration !== this.linkGeneration) return;
      this.inFlight--;
      if (generation === s.generation && !s.closed) {
        if (err || !ack) {
          // No answer in time: ask again while connected.
          s.sent = null;
          s.retryTimer = setTimeout(() => this.sync(s, true), this.options.retryMs);
        } else if (!ack.ok) s.refused(ack.error);
        else s.onSnapshot(ack);
      }
      this.pump();
    });
  }
}
