import { useEffect, useRef } from 'react';
import { Sparkline } from '../chart/sparkline.js';
import { Throttle } from '../lib/throttle.js';
import { useTimeZone } from '../hooks/useTimeZone.js';
import { zoneLabel } from '../lib/time-zone.js';
import type { DayOpens } from '../hooks/useAssets.js';
import type { FeedFlags } from '../hooks/useHealth.js';
import { useSecondTick, useStreamClient } from '../hooks/useStreamClient.js';
import { formatChange, formatPrice, formatRate, pricePrecision, splitPair } from '../lib/format.js';
import type { Asset } from '../lib/types.js';

export interface PairListProps {
  assets: readonly Asset[];
  status: 'loading' | 'ready' | 'error';
  error: string | null;
  selected: string | null;
  /** Pairs on screen in the grid, marked in the list. */
  shown?: readonly string[];
  dayOpens: DayOpens;
  /** Stale and suspect pairs (GET /health `feed`), badged in their rows. */
  feedFlags?: FeedFlags;
  onSelect: (pair: string) => void;
}

/** Every pair with its live price, change since the day's open (in the page's zone), ticks per second and a sparkline. */
export function PairList({ assets, status, error, selected, shown = [], dayOpens, feedFlags, onSelect }: PairListProps) {
  useSecondTick(); // change and rate are read from the stream client once a second
  return (
    <nav className="pair-list" aria-label="Pairs">
      <div className="panel-title">
        <span>Market</span>
        <span className="panel-sub">{assets.length > 0 ? `${assets.length} pairs` : ''}</span>
      </div>
      <div className="pair-head" aria-hidden="true">
        <span>Pair</span>
        <span>Last</span>
      </div>
      {status === 'loading' && assets.length === 0 && (
        <div className="pair-skeletons" role="status" aria-label="Loading pairs">
          {[0, 1, 2, 3, 4].map((i) => (
            <div key={i} className="pair-skeleton" />
          ))}
        </div>
      )}
      {status === 'error' && assets.length === 0 && (
        <div className="pair-empty error" role="alert">
          <b>Pairs unavailable</b>
          <span>{error ?? 'The server did not answer.'} Retrying…</span>
        </div>
      )}
      {status === 'ready' && assets.length === 0 && (
        <div className="pair-empty">
          <b>No pairs yet</b>
          <span>Pairs appear here with their first tick: start the simulator (FEED=simulated) or POST ticks to /api/ticks.</span>
        </div>
      )}
      <ul role="listbox" aria-label="Pairs">
        {assets.map((a) => (
          <PairRow
            key={a.pair}
            asset={a}
            selected={a.pair === selected}
            shown={shown.includes(a.pair)}
            dayOpen={dayOpens[a.pair]}
            stale={feedFlags?.stale.includes(a.pair) ?? false}
            suspect={feedFlags?.suspect.includes(a.pair) ?? false}
            onSelect={onSelect}
          />
        ))}
      </ul>
    </nav>
  );
}

interface PairRowProps {
  asset: Asset;
  selected: boolean;
  shown: boolean;
  dayOpen: number | undefined;
  stale: boolean;
  suspect: boolean;
  onSelect: (pair: string) => void;
}

function PairRow({ asset, selected, shown, dayOpen, stale, suspect, onSelect }: PairRowProps) {
  const client = useStreamClient();
  const { zone } = useTimeZone();
  const priceRef = useRef<HTMLSpanElement>(null);
  const sparkRef = useRef<HTMLCanvasElement>(null);
  const { pair } = asset;
  const digits = pricePrecision(pair, asset.price);
  const initialPrice = useRef(asset.price);

  // The price and sparkline follow every frame, straight in the DOM.
  useEffect(() => {
    if (!client || !sparkRef.current) return;
    const spark = new Sparkline(sparkRef.current);
    let shownPrice: number | null = client.stats(pair).price ?? initialPrice.current;
    let latest: number | null = null;
    if (priceRef.current) priceRef.current.textContent = formatPrice(shownPrice, digits);
    // Ten writes a second at most (and the last one always): as readable as every frame, and
    // far less layout work.
    const write = new Throttle(100, () => {
      const el = priceRef.current;
      if (!el || latest === null || latest === shownPrice) return;
      if (shownPrice !== null) el.className = `pair-price ${latest > shownPrice ? 'up' : 'down'}`;
      shownPrice = latest;
      el.textContent = formatPrice(latest, digits);
    });
    // The sparkline is drawn at most every 120 ms (and once after the last change).
    const draw = new Throttle(120, () => spark.draw(performance.now(), true));
    const unwatch = client.watch(pair, {
      demand: null,
      onItems(items) {
        for (const item of items) {
          if (item.kind === 'snapshot') {
            spark.seed(item.ack.ticks.map((t) => t.price));
            const last = item.ack.ticks[item.ack.ticks.length - 1];
            if (last) latest = last.price;
          } else if (item.kind === 'ticks') {
            for (const t of item.ticks) spark.push(t.price);
            latest = item.ticks[item.ticks.length - 1]!.price;
          }
        }
        draw.run();
        write.run();
      },
    });
    return () => {
      write.cancel();
      draw.cancel();
      unwatch();
    };
  }, [client, pair, digits]);

  const stats = client?.stats(pair);
  const price = stats?.price ?? asset.price;
  const change = dayOpen ? ((price - dayOpen) / dayOpen) * 100 : null;
  const rate = stats?.rate ?? 0;
  const { base, otc } = splitPair(pair);

  return (
    <li
      role="option"
      aria-selected={selected}
      tabIndex={0}
      className={`pair-row${selected ? ' selected' : ''}${shown ? ' shown' : ''}`}
      data-pair={pair}
      onClick={() => onSelect(pair)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onSelect(pair);
        }
      }}
    >
      <div className="pair-line">
        <span className="pair-name">
          {base}
          {otc && <span className="tag">OTC</span>}
          {stale && (
            <span className="tag feed-flag stale" title="No tick for much longer than this pair's usual gap">
              STALE
            </span>
          )}
          {suspect && (
            <span className="tag feed-flag suspect" title="A price jump far outside this pair's recent moves in the last minute (the tick was kept)">
              SUSPECT
            </span>
          )}
        </span>
        {/* Written by the frame callback, not React: it changes many times a second. */}
        <span className="pair-price" ref={priceRef} />
      </div>
      <div className="pair-line sub">
        <canvas className="spark" ref={sparkRef} aria-hidden="true" />
        <span className={`pair-change ${change === null ? '' : change >= 0 ? 'up' : 'down'}`} title={`Change since 00:00 ${zoneLabel(zone)}`}>
          {formatChange(change)}
        </span>
        <span className="pair-rate" title="Ticks per second">
          {formatRate(rate)}/s
        </span>
      </div>
    </li>
  );
}
