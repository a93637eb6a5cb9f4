/**
 * Capped exponential backoff with jitter: attempt 0 waits about `minMs`, each further attempt
 * doubles, never above `maxMs`; the wait is drawn from [half, full] so many clients do not retry in step.
 */
export function backoffDelay(attempt: number, minMs = 50, maxMs = 2000, random: () => number = Math.random): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(full / 2 + random() * (full / 2));
}
