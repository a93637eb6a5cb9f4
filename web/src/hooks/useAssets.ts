import { useEffect, useState } from 'react';
import { api, type Fetch } from '../lib/api.js';
import { takeBootAssets } from '../lib/boot.js';
import { startOfDay, type TimeZoneChoice } from '../lib/time-zone.js';
import type { Asset } from '../lib/types.js';

export interface AssetsState {
  status: 'loading' | 'ready' | 'error';
  assets: Asset[];
  error: string | null;
}

/** The pairs QuFLX has seen (GET /api/assets), sorted by name, polled for newcomers. */
export function useAssets(options: { fetch?: Fetch; pollMs?: number; paused?: boolean; version?: number } = {}): AssetsState {
  const [state, setState] = useState<AssetsState>({ status: 'loading', assets: [], error: null });
  // `version`: bumped to ask again now (an import may have brought new pairs).
  const { fetch: fetchImpl, pollMs = 15_000, paused = false, version = 0 } = options;
  useEffect(() => {
    // While the server is known to be away, asking would only fill the console with refusals;
    // asked again as soon as it is back.
    if (paused) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = fetchImpl ? null : takeBootAssets();
    const load = async () => {
      try {
        // The first answer may already be on its way (started by index.html).
        const early = first ? await first : null;
        first = null;
        const assets = early ?? (await api.assets({ fetch: fetchImpl }));
        if (stopped) return;
        const sorted = [...assets].sort((a, b) => a.pair.localeCompare(b.pair));
        setState((s) => (sameAssets(s.assets, sorted) && s.status === 'ready' ? s : { status: 'ready', assets: sorted, error: null }));
        // No pairs yet: look again soon, the first tick may be on its way.
        timer = setTimeout(load, sorted.length === 0 ? Math.min(pollMs, 3000) : pollMs);
      } catch (err) {
        if (stopped) return;
        setState((s) => ({ ...s, status: s.assets.length > 0 ? 'ready' : 'error', error: (err as Error).message }));
        timer = setTimeout(load, Math.min(pollMs, 3000));
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [fetchImpl, pollMs, paused, version]);
  return state;
}

function sameAssets(a: Asset[], b: Asset[]): boolean {
  return a.length === b.length && a.every((x, i) => x.pair === b[i]!.pair);
}

export interface DayOpens {
  [pair: string]: number;
}

/**
 * Each pair's price at the start of today in the page's time zone: the base of the change column.
 * The 15-minute candle that opens at that midnight gives its open; without one, the last candle
 * before midnight gives its close (the price at midnight). Asked again every few minutes (a new
 * day has a new base) and when the zone changes.
 */
export function useDayOpens(pairs: readonly string[], zone: TimeZoneChoice, options: { fetch?: Fetch; paused?: boolean } = {}): DayOpens {
  const [opens, setOpens] = useState<DayOpens>({});
  const key = pairs.join(',');
  const { fetch: fetchImpl, paused = false } = options;
  useEffect(() => {
    if (paused || pairs.length === 0) return;
    let stopped = false;
    const load = () => {
      const midnight = startOfDay(Date.now(), zone) / 1000;
      return Promise.all(
        pairs.map((pair) =>
          api.candles(pair, '15M', 1, { fetch: fetchImpl, before: midnight + 900 }).then(
            (r) => {
              const c = r.candles[r.candles.length - 1];
              return [pair, c === undefined ? undefined : c.time === midnight ? c.open : c.close] as const;
            },
            () => [pair, undefined] as const,
          ),
        ),
      ).then((entries) => {
        if (stopped) return;
        const next: DayOpens = {};
        for (const [pair, open] of entries) if (open !== undefined) next[pair] = open;
        setOpens(next);
      });
    };
    // Not needed for the first chart: asked for a moment later.
    const first = setTimeout(load, 800);
    const id = setInterval(load, 5 * 60_000);
    return () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(id);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, zone, fetchImpl, paused]);
  return opens;
}
