import { describe, expect, test } from 'vitest';
import { rateLimited, TokenBucket } from '../../src/gateway/subscribe-rate-limit.js';

describe('TokenBucket', () => {
  test('a full bucket gives its burst, then says how long until the next request fits', () => {
    let now = 1000;
    const bucket = new TokenBucket({ burst: 10, perSecond: 2 }, () => now);
    expect(bucket.take(4)).toBe(0);
    expect(bucket.take(6)).toBe(0);
    // Empty: 3 tokens at 2 a second are 1.5 s away, and nothing is taken by asking.
    expect(bucket.take(3)).toBe(1500);
    expect(bucket.take(3)).toBe(1500);
    now += 1000; // 2 tokens back
    expect(bucket.take(3)).toBe(500);
    expect(bucket.take(2)).toBe(0);
    now += 500; // 1 token
    expect(bucket.take(1)).toBe(0);
  });

  test('refills no further than the burst', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 5, perSecond: 100 }, () => now);
    now += 60_000;
    expect(bucket.take(5)).toBe(0);
    expect(bucket.take(1)).toBe(10);
  });

  test('the refusal says when to retry, in words and in ms', () => {
    expect(rateLimited(1234)).toEqual({ ok: false, error: 'too many subscribes on this connection: retry in 1.2 s', retryAfterMs: 1234 });
  });
});
