import { crosses } from '../../../src/core/alert-crossing.js';
import { bucketTime } from './timeframes.js';
import type { Alert, AlertCondition } from './types.js';

/**
 * What the page shows of alerts, apart from the DOM. The firing rule itself is the server's
 * (src/core/alert-crossing.ts: `above` fires at or above the level, `below` at or below it).
 */

/** The side an alert at `level` watches, seen from the current price: a level over it waits for the price to rise. */
export function conditionFor(level: number, lastPrice: number | null): AlertCondition {
  return lastPrice === null || level >= lastPrice ? 'above' : 'below';
}

/** The price is already at or beyond the level: the next tick fires the alert. */
export function firesOnNextTick(condition: AlertCondition, level: number, lastPrice: number | null): boolean {
  return lastPrice !== null && crosses(condition, level, lastPrice);
}

/** `EUR/USD_otc above 1.08500`. */
export function describeAlert(a: Pick<Alert, 'pair' | 'condition' | 'price'>, digits: number): string {
  return `${a.pair} ${a.condition} ${a.price.toFixed(digits)}`;
}

/** How far the price has to go, e.g. `+0.012%` (signed: up is +). */
export function distanceText(level: number, lastPrice: number | null): string {
  if (lastPrice === null || lastPrice === 0) return '';
  const pct = ((level - lastPrice) / lastPrice) * 100;
  return `${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(3)}%`;
}

/** Where a fired alert's marker goes on a chart of `tfSeconds` bars: the bar of the tick that fired it, at its price. */
export function alertMarker(a: Alert, tfSeconds: number): { time: number; price: number } | null {
  if (!a.trigger) return null;
  return { time: bucketTime(a.trigger.timestamp, tfSeconds), price: a.trigger.price };
}

/** Fired alerts the user has not seen (fired after `seenAt`, e.g. while the tab was closed), oldest first. */
export function unseenFired(alerts: readonly Alert[], seenAt: number): Alert[] {
  return alerts.filter((a) => a.triggeredAt !== null && a.triggeredAt > seenAt).sort((x, y) => x.triggeredAt! - y.triggeredAt!);
}
