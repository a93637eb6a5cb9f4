import { useEffect, useState } from 'react';
import type { Fetch } from '../lib/api.js';
import type { HealthResponse } from '../lib/types.js';

export type Health = HealthResponse;

/** Feed health: pairs silent for much longer than usual, pairs with a suspect price jump. */
export type FeedFlags = Pick<NonNullable<HealthResponse['feed']>, 'stale' | 'suspect'>;

/** GET /health every few seconds, for the status bar. */
export function useHealth(options: { fetch?: Fetch; pollMs?: number; paused?: boolean } = {}): Health | null {
  const [health, setHealth] = useState<Health | null>(null);
  const { fetch: fetchImpl, pollMs = 10_000, paused = false } = options;
  useEffect(() => {
    if (paused) return;
    let stopped = false;
    const doFetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
    const load = () =>
      doFetch('/health', { headers: { accept: 'application/json' } })
        .then((r) => (r.ok ? (r.json() as Promise<Health>) : null))
        .then(
          (h) => !stopped && setHealth(h),
          () => !stopped && setHealth(null),
        );
    // Not needed for the first chart: asked for a moment later.
    const first = setTimeout(load, 600);
    const id = setInterval(load, pollMs);
    return () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(id);
    };
  }, [fetchImpl, pollMs, paused]);
  return health;
}
