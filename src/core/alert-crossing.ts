import type { AlertCondition } from '../shared/http.js';

/** What the firing rule needs to know of an alert that has not fired. */
export interface WatchedAlert {
  id: number;
  pair: string;
  condition: AlertCondition;
  /** The level. */
  price: number;
  /** When it was made, epoch ms: a tick stamped earlier (a late tick, reloaded history) never fires it. */
  createdAt: number;
  /** The pair's seq when it was made: a tick with this seq or a lower one was accepted before it. */
  createdSeq: number;
}

/** The crossing rule: `above` fires at or above the level, `below` at or below it (touching it exactly counts). */
export function crosses(condition: AlertCondition, level: number, price: number): boolean {
  return condition === 'above' ? price >= level : price <= level;
}

/**
 * Whether a tick fires the alert: at or beyond its level, stamped at or after the alert was made,
 * and (where the tick's seq is known) accepted after it was made.
 */
export function firesOn(alert: WatchedAlert, tick: { price: number; timestamp: number; seq?: number }): boolean {
  return (
    crosses(alert.condition, alert.price, tick.price) &&
    tick.timestamp >= alert.createdAt &&
    (tick.seq === undefined || tick.seq > alert.createdSeq)
  );
}
