import { bucketOpen } from '../shared/bucket-time.js';
import { timeframeSeconds, type Timeframe } from './timeframe.js';
import type { EpochSeconds } from './units.js';

/** An OHLCV bar as clients see it: `time` is the bucket open in epoch seconds, `volume` the tick count. */
export interface Candle {
  time: EpochSeconds;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/**
 * A candle that can take ticks in any order: it remembers which tick set its open and close.
 * Ticks are ordered by (timestamp, identity key), so the result never depends on arrival order
 * and equals the SQL aggregation (which orders the same way, with tick_key in "C" collation).
 */
export interface CandleState extends Candle {
  openAt: number;
  openKey: string;
  closeAt: number;
  closeKey: string;
}

export interface CandleTick {
  price: number;
  timestamp: number;
  /** The tick's identity key (see identity.ts); breaks timestamp ties. */
  key: string;
}

/** Bucket open in epoch seconds: UTC-aligned, by the tick's own timestamp. */
export function bucketTime(timestampMs: number, tf: Timeframe): EpochSeconds {
  return bucketOpen(timestampMs, timeframeSeconds(tf)) as EpochSeconds;
}

const utf8 = new TextEncoder();

/** Byte order of the UTF-8 text, as PostgreSQL's "C" collation and the Lua scripts compare. */
export function keyLess(a: string, b: string): boolean {
  // ASCII (every generated key, most feed ids): UTF-16 order is byte order.
  if (/^[\x00-\x7f]*$/.test(a + b)) return a < b;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return x.length < y.length;
}

const before = (at: number, key: string, otherAt: number, otherKey: string) =>
  at < otherAt || (at === otherAt && keyLess(key, otherKey));

export function startCandle(tick: CandleTick, tf: Timeframe): CandleState {
  return {
    time: bucketTime(tick.timestamp, tf),
    open: tick.price,
    high: tick.price,
    low: tick.price,
    close: tick.price,
    volume: 1,
    openAt: tick.timestamp,
    openKey: tick.key,
    closeAt: tick.timestamp,
    closeKey: tick.key,
  };
}

/** Adds a tick of the same bucket to a candle, in place. */
export function addToCandle(c: CandleState, tick: CandleTick): CandleState {
  if (tick.price > c.high) c.high = tick.price;
  if (tick.price < c.low) c.low = tick.price;
  if (before(tick.timestamp, tick.key, c.openAt, c.openKey)) {
    c.open = tick.price;
    c.openAt = tick.timestamp;
    c.openKey = tick.key;
  }
  if (before(c.closeAt, c.closeKey, tick.timestamp, tick.key)) {
    c.close = tick.price;
    c.closeAt = tick.timestamp;
    c.closeKey = tick.key;
  }
  c.volume++;
  return c;
}

/** Combines two partial candles of the same bucket (e.g. stored ticks and not-yet-stored ones). */
export function mergeCandles(a: CandleState, b: CandleState): CandleState {
  const first = before(b.openAt, b.openKey, a.openAt, a.openKey) ? b : a;
  const last = before(a.closeAt, a.closeKey, b.closeAt, b.closeKey) ? b : a;
  return {
    time: a.time,
    open: first.open,
    openAt: first.openAt,
    openKey: first.openKey,
    high: Math.max(a.high, b.high),
    low: Math.min(a.low, b.low),
    close: last.close,
    closeAt: last.closeAt,
    closeKey: last.closeKey,
    volume: a.volume + b.volume,
  };
}

/** Two bars with the same open, high, low, close and volume (whatever their time's type). */
export function sameBar(a: Omit<Candle, 'time'>, b: Omit<Candle, 'time'>): boolean {
  return a.open === b.open && a.high === b.high && a.low === b.low && a.close === b.close && a.volume === b.volume;
}

export function toCandle(c: CandleState): Candle {
  return { time: c.time, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}

/** Ticks to candle states, oldest bucket first; buckets without ticks are absent. */
export function aggregateStates(ticks: Iterable<CandleTick>, tf: Timeframe): CandleState[] {
  const byTime = new Map<number, CandleState>();
  for (const t of ticks) {
    const time = bucketTime(t.timestamp, tf);
    const c = byTime.get(time);
    if (c) addToCandle(c, t);
    else byTime.set(time, startCandle(t, tf));
  }
  return [...byTime.values()].sort((x, y) => x.time - y.time);
}

/** Ticks to candles, oldest first. */
export function aggregate(ticks: Iterable<CandleTick>, tf: Timeframe): Candle[] {
  return aggregateStates(ticks, tf).map(toCandle);
}

/** Field separator of the cached candle state (shared with redis/scripts/candle-lib.lua). */
const SEP = '\u001f';

/** Serialises a candle state the way the Redis candle scripts read it. */
export function encodeCandleState(c: CandleState): string {
  return [c.open, c.high, c.low, c.close, c.volume, c.openAt, c.openKey, c.closeAt, c.closeKey].map(String).join(SEP);
}

export function decodeCandleState(time: number, s: string): CandleState {
  const [open, high, low, close, volume, openAt, openKey, closeAt, closeKey] = s.split(SEP);
  return {
    time: time as EpochSeconds,
    open: Number(open),
    high: Number(high),
    low: Number(low),
    close: Number(close),
    volume: Number(volume),
    openAt: Number(openAt),
    openKey: openKey ?? '',
    closeAt: Number(closeAt),
    closeKey: closeKey ?? '',
  };
}
