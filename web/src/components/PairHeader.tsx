import { useEffect, useRef } from 'react';
import { useSecondTick, useStreamClient } from '../hooks/useStreamClient.js';
import { formatChange, formatPrice, pricePrecision, splitPair } from '../lib/format.js';
import { Throttle } from '../lib/throttle.js';
import { useTimeZone } from '../hooks/useTimeZone.js';
import { zoneLabel } from '../lib/time-zone.js';

/** The selected pair's name, live price (written per frame) and change since the day's open (in the page's zone). */
export function PairHeader({ pair, dayOpen }: { pair: string | null; dayOpen: number | undefined }) {
  const client = useStreamClient();
  const { zone } = useTimeZone();
  const priceRef = useRef<HTMLSpanElement>(null);
  useSecondTick();

  useEffect(() => {
    if (!client || !pair) return;
    let shown = client.stats(pair).price;
    let digits = pricePrecision(pair, shown);
    if (priceRef.current) priceRef.current.textContent = formatPrice(shown, digits);
    const write = new Throttle(100, () => {
      const { price } = client.stats(pair);
      const el = priceRef.current;
      if (!el || price === null || price === shown) return;
      if (shown === null) digits = pricePrecision(pair, price);
      el.className = `header-price ${shown !== null && price < shown ? 'down' : 'up'}`;
      shown = price;
      el.textContent = formatPrice(price, digits);
    });
    const unwatch = client.watch(pair, { demand: null, onItems: () => write.run() });
    return () => {
      write.cancel();
      unwatch();
    };
  }, [client, pair]);

  if (!pair) return <div className="pair-header" />;
  const price = client?.stats(pair).price ?? null;
  const change = dayOpen && price !== null ? ((price - dayOpen) / dayOpen) * 100 : null;
  const { base, otc } = splitPair(pair);
  return (
    <div className="pair-header" data-selected-pair={pair}>
      <span className="header-pair">
        {base}
        {otc && <span className="tag">OTC</span>}
      </span>
      <span className="header-price" ref={priceRef} />
      <span className={`header-change ${change === null ? '' : change >= 0 ? 'up' : 'down'}`} title={`Change since 00:00 ${zoneLabel(zone)}`}>
        {formatChange(change)}
      </span>
    </div>
  );
}
