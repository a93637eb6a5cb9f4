import { useTimeZone } from '../hooks/useTimeZone.js';
import { formatPrice, pricePrecision } from '../lib/format.js';
import { formatClock } from '../lib/time-zone.js';
import type { Alert } from '../lib/types.js';

export interface BannerItem {
  key: string;
  alert: Alert;
  away: boolean;
}

/** Alerts that fired, over the chart until dismissed (those found fired on opening say so). */
export function AlertBanner({ items, onDismiss }: { items: readonly BannerItem[]; onDismiss: (key: string) => void }) {
  const { zone } = useTimeZone();
  if (items.length === 0) return null;
  return (
    <div className="alert-banners" role="alert" aria-live="assertive">
      {items.map(({ key, alert: a, away }) => {
        const digits = pricePrecision(a.pair, a.price);
        return (
          <div key={key} className="alert-banner" data-alert-id={a.id}>
            <svg viewBox="0 0 16 16" aria-hidden="true">
              <path d="M8 2a4 4 0 0 0-4 4v3l-1.5 2.5h11L12 9V6a4 4 0 0 0-4-4zM6.5 13.5a1.5 1.5 0 0 0 3 0" fill="currentColor" />
            </svg>
            <div className="alert-banner-text">
              <b>
                {a.pair} {a.condition === 'above' ? 'rose to' : 'fell to'} {formatPrice(a.price, digits)}
              </b>
              <span>
                {a.trigger ? `${formatPrice(a.trigger.price, digits)} at ${formatClock(a.trigger.timestamp, zone)}` : ''}
                {away ? ' · while you were away' : ''}
                {a.note ? ` · ${a.note}` : ''}
              </span>
            </div>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => onDismiss(key)}>
              ×
            </button>
          </div>
        );
      })}
    </div>
  );
}
