/**
 * The time left in the current bar. Bars are UTC buckets (the server's bucketing,
 * src/shared/bucket-time.ts), so the close is the same instant whatever zone the page shows;
 * only the clock that reads it differs.
 */
export function barCloseIn(nowMs: number, tfSeconds: number): number {
  const span = tfSeconds * 1000;
  const open = Math.floor(nowMs / span) * span;
  return open + span - nowMs;
}

/**
 * `0:42`, `4:07`, `59:59`, `3:59:59`, `23:59:59`: minutes and seconds, hours when the bar is an
 * hour or longer. Rounded up to the second, so it reads `0:01` in the last second and the bar
 * closes as `0:00` would show.
 */
export function formatCountdown(ms: number, tfSeconds: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  if (tfSeconds >= 3600) return `${h}:${String(m).padStart(2, '0')}:${ss}`;
  return `${m + h * 60}:${ss}`;
}
