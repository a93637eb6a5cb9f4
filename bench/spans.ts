import { performance } from 'node:perf_hooks';

/**
 * Wall time spent in one kind of call: overlapping calls (pipelined XACKs, say) count once, so
 * the totals of several kinds can be compared with the wall time of the whole run.
 */
export class SpanTimer {
  private active = 0;
  private since = 0;
  totalMs = 0;
  calls = 0;
  /** Longest single span, ms. */
  maxMs = 0;

  begin(): void {
    if (this.active++ === 0) this.since = performance.now();
    this.calls++;
  }

  /** Ends a span begun at `startedAt` (performance.now()). */
  end(startedAt: number): void {
    const now = performance.now();
    if (--this.active === 0) this.totalMs += now - this.since;
    this.maxMs = Math.max(this.maxMs, now - startedAt);
  }

  reset(): void {
    this.totalMs = 0;
    this.calls = 0;
    this.maxMs = 0;
  }
}

type Method = (...args: unknown[]) => unknown;

/**
 * Replaces `obj[method]` on that one object with a wrapper that times its calls in `span`, where
 * `when` (if given) accepts the call's arguments; a call that returns no promise (pg's query()
 * given a COPY stream, say) counts as an instant call and its return value is passed on untouched. The benchmark
 * does this to the clients it hands to QuFLX's classes, to see where their time goes without
 * touching src/.
 */
export function timeCalls(obj: object, method: string, span: SpanTimer, when?: (args: unknown[]) => boolean): void {
  const target = obj as Record<string, Method>;
  const original = target[method];
  if (typeof original !== 'function') throw new Error(`cannot time ${method}: not a method`);
  const bound = original.bind(obj);
  target[method] = (...args: unknown[]) => {
    if (when && !when(args)) return bound(...args);
    const t0 = performance.now();
    span.begin();
    let result: unknown;
    try {
      result = bound(...args);
    } catch (err) {
      span.end(t0);
      throw err;
    }
    if (!(result instanceof Promise)) {
      span.end(t0);
      return result;
    }
    return result.finally(() => span.end(t0));
  };
}

/**
 * Calls `send(n)` with the ticks that have come due to keep `ratePerS` for `durationMs`, from a
 * timer every `intervalMs` (small groups, as a feed delivers them). Resolves with the number sent
 * and the send wall time.
 */
export async function paced(
  ratePerS: number,
  durationMs: number,
  send: (n: number, sentBefore: number) => void,
  intervalMs = 2,
): Promise<{ sent: number; wallMs: number }> {
  const total = Math.round((ratePerS * durationMs) / 1000);
  let sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * ratePerS) / 1000));
      if (due > sent) {
        send(due - sent, sent);
        sent = due;
      }
      if (sent >= total) resolve();
      else setTimeout(step, intervalMs);
    };
    step();
  });
  return { sent, wallMs: performance.now() - t0 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
