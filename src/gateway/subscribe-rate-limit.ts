import { performance } from 'node:perf_hooks';

/** A token bucket's size: `burst` tokens at most, refilled at `perSecond`. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

/**
 * Subscribes per socket, costed 1 plus 1 per indicator. The burst covers a page opening (a
 * subscribe per pair in its list, up to the 50 pairs a socket may follow, and a chart per pane)
 * and a reconnect; the rate lets a page switch pairs as fast as its answers come for a while (a
 * switch with two indicators costs about 4) and a few times a second for good. A socket asking
 * for ten indicators again and again gets about two answers a second.
 */
export const SUBSCRIBE_LIMIT: RateLimit = { burst: 200, perSecond: 20 };

/** A token bucket with its own clock (ms); `take` says how long to wait when it is short. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.burst;
    this.at = now();
  }

  /** Takes `cost` tokens and returns 0, or takes none and returns the ms until there are enough. */
  take(cost: number): number {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.at) / 1000) * this.limit.perSecond);
    this.at = now;
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - this.tokens) / this.limit.perSecond) * 1000);
  }
}

/** The answer to a subscribe over the limit. */
export function rateLimited(waitMs: number): { ok: false; error: string; retryAfterMs: number } {
  return {
    ok: false,
    error: `too many subscribes on this connection: retry in ${(waitMs / 1000).toFixed(1)} s`,
    retryAfterMs: waitMs,
  };
}
