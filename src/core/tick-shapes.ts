/**
 * The tick shapes QuFLX recognises in a broker's messages (a decoded JSON value in, raw ticks out).
 * Recognition is structural only: the ticks found still go through `validateTick` like any other.
 */

/** A tick as found in a broker message: not yet validated (the pair may break the rules, the price be 0). */
export interface RawTick {
  pair: string;
  price: number;
  timestamp: number;
  id?: string | number;
}

const PAIR_KEYS = ['pair', 'asset', 'symbol'] as const;
const PRICE_KEYS = ['price', 'value', 'rate'] as const;
const TIME_KEYS = ['timestamp', 'time', 'ts'] as const;

/** A broker time below this is in seconds (often with a fraction), at or above it in milliseconds. */
export const SECONDS_BELOW = 1e11;

/**
 * A broker time (seconds with a fraction, or milliseconds) as whole milliseconds, rounded;
 * null when it cannot be a time at all (before 1973, where seconds and milliseconds overlap).
 */
export function feedTimeToMs(time: number): number | null {
  if (!Number.isFinite(time)) return null;
  const ms = Math.round(time < SECONDS_BELOW ? time * 1000 : time);
  return ms >= SECONDS_BELOW ? ms : null;
}

/**
 * Every tick in `value`: a row `[asset, time, price]`, an object with the pair under `pair`,
 * `asset` or `symbol`, the price under `price`, `value` or `rate` and the time under `timestamp`,
 * `time` or `ts` (a QuFLX tick is one; only it keeps its `id`), or an array of rows and objects.
 * Anything else holds no tick. Appends to and returns `out`.
 */
export function findTicks(value: unknown, out: RawTick[] = []): RawTick[] {
  const one = asTick(value);
  if (one) {
    out.push(one);
    return out;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const t = asTick(item);
      if (t) out.push(t);
    }
  }
  return out;
}

function asTick(value: unknown): RawTick | null {
  if (Array.isArray(value)) return asRow(value);
  if (typeof value === 'object' && value !== null) return asObject(value as Record<string, unknown>);
  return null;
}

function asRow(row: unknown[]): RawTick | null {
  if (row.length !== 3) return null;
  const [pair, time, price] = row;
  if (typeof pair !== 'string' || typeof time !== 'number' || typeof price !== 'number') return null;
  const timestamp = feedTimeToMs(time);
  return timestamp === null ? null : { pair, price, timestamp };
}

function asObject(o: Record<string, unknown>): RawTick | null {
  const pair = first(o, PAIR_KEYS);
  const price = first(o, PRICE_KEYS);
  const time = first(o, TIME_KEYS);
  if (typeof pair !== 'string' || typeof price !== 'number' || typeof time !== 'number') return null;
  const timestamp = feedTimeToMs(time);
  if (timestamp === null) return null;
  const tick: RawTick = { pair, price, timestamp };
  // A broker's `id` may name the instrument or the message, not the tick: only a QuFLX tick's
  // id is taken as the tick's identity.
  const isQuflxTick = o.pair !== undefined && o.price !== undefined && o.timestamp !== undefined;
  if (isQuflxTick && (typeof o.id === 'string' || typeof o.id === 'number')) tick.id = o.id;
  return tick;
}

function first(o: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}
