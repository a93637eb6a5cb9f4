import type { Tick } from './tick.js';

/**
 * The identity that makes a resent tick a duplicate: the feed's id where it gives one,
 * else (timestamp, price). The pair is implied by the per-pair key the identity lives under.
 * String and integer ids with the same text are the same id (feeds are not consistent about it).
 */
export function tickIdentity(tick: Tick): string {
  return tick.id !== undefined ? `i:${tick.id}` : `t:${tick.timestamp}:${tick.price}`;
}
