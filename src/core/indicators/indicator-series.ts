import {
  AO,
  ATR,
  BollingerBands,
  CCI,
  DEMA,
  DonchianChannels,
  EMA,
  HMA,
  MACD,
  MOM,
  ROC,
  RSI,
  SMA,
  StochasticOscillator,
  TEMA,
  getTrueRange,
  WilliamsR,
  WMA,
  WSMA,
} from 'trading-signals';
import type { Candle } from '../candle.js';
import { firstValueAt, getIndicator, type IndicatorParams, type IndicatorSpec } from './catalog.js';

/** One number, or an object of numbers for multi-line indicators (MACD, Bollinger, ...). */
export type IndicatorValue = number | Record<string, number>;

export interface IndicatorPoint {
  /** The candle's time (bucket open, epoch seconds). */
  time: number;
  value: IndicatorValue;
}

/**
 * One trading-signals indicator behind a candle interface: `add` a new bar, or `replace` the
 * last one (the forming bar). Returns the raw value, or null while the library has none.
 */
interface Engine {
  update(candle: Candle, replace: boolean): IndicatorValue | null;
}

/** What the library's indicators have in common (add/replace with one input type). */
interface Streaming<I, R> {
  add(input: I): R | null;
  replace(input: I): R | null;
}

function step<I, R>(ind: Streaming<I, R>, input: I, replace: boolean): R | null {
  return replace ? ind.replace(input) : ind.add(input);
}

function p(params: IndicatorParams, key: string): number {
  const v = params[key];
  if (v === undefined) throw new Error(`indicator parameter "${key}" missing`);
  return v;
}

const close = (c: Candle) => c.close;
const hl = (c: Candle) => ({ high: c.high, low: c.low });
const hlc = (c: Candle) => ({ high: c.high, low: c.low, close: c.close });

/** A single-number indicator fed by `input(candle)`. */
function series<I>(ind: Streaming<I, number>, input: (c: Candle) => I, scale = 1): Engine {
  return {
    update: (c, replace) => {
      const r = step(ind, input(c), replace);
      return r === null ? null : r * scale;
    },
  };
}

type Bands = { upper: number; middle: number; lower: number };

/** A three-line band indicator (upper/middle/lower). */
function bands<I>(ind: Streaming<I, Bands>, input: (c: Candle) => I): Engine {
  return {
    update: (c, replace) => {
      const r = step(ind, input(c), replace);
      return r === null ? null : { upper: r.upper, middle: r.middle, lower: r.lower };
    },
  };
}

/**
 * Wilder's ADX with +DI and -DI, built from the library's Wilder smoother (WSMA, with its
 * add/replace). Not the library's ADX class: that one counts a bar whose up-move equals its
 * down-move as directional movement both ways, where Wilder (and TA-Lib) count neither, and
 * seeds its true range with the first bar's high - low. The first bar only sets the reference.
 */
function wilderAdx(period: number): Engine {
  const tr = new WSMA(period);
  const plusDM = new WSMA(period);
  const minusDM = new WSMA(period);
  const adx = new WSMA(period);
  let before: Candle | null = null; // the bar before the last one fed
  let last: Candle | null = null;
  return {
    update: (c, replace) => {
      const prev = replace ? before : last;
      if (!replace) before = last;
      last = c;
      if (!prev) return null;
      const up = c.high - prev.high;
      const down = prev.low - c.low;
      tr.update(getTrueRange(c, prev.close), replace);
      plusDM.update(up > down && up > 0 ? up : 0, replace);
      minusDM.update(down > up && down > 0 ? down : 0, replace);
      const range = tr.getResult();
      const pdm = plusDM.getResult();
      const mdm = minusDM.getResult();
      if (range === null || pdm === null || mdm === null) return null;
      const plusDI = (100 * pdm) / range;
      const minusDI = (100 * mdm) / range;
      const sum = plusDI + minusDI;
      const value = adx.update(sum === 0 ? 0 : (100 * Math.abs(plusDI - minusDI)) / sum, replace);
      return value === null ? null : { adx: value, plusDI, minusDI };
    },
  };
}

const FACTORIES: Record<string, (params: IndicatorParams) => Engine> = {
  sma: (q) => series(new SMA(p(q, 'period')), close),
  ema: (q) => series(new EMA(p(q, 'period')), close),
  wma: (q) => series(new WMA(p(q, 'period')), close),
  dema: (q) => series(new DEMA(p(q, 'period')), close),
  tema: (q) => series(new TEMA(p(q, 'period')), close),
  hma: (q) => series(new HMA(p(q, 'period')), close),
  rsi: (q) => series(new RSI(p(q, 'period')), close),
  // trading-signals gives a fraction; the catalog promises percent, as TA-Lib's ROC.
  roc: (q) => series(new ROC(p(q, 'period')), close, 100),
  mom: (q) => series(new MOM(p(q, 'period')), close),
  macd: (q) => {
    const ind = new MACD(new EMA(p(q, 'fast')), new EMA(p(q, 'slow')), new EMA(p(q, 'signal')));
    return {
      update: (c, replace) => {
        const r = step(ind, c.close, replace);
        return r === null ? null : { macd: r.macd, signal: r.signal, histogram: r.histogram };
      },
    };
  },
  bollinger: (q) => bands(new BollingerBands(p(q, 'period'), p(q, 'stddev')), close),
  stochastic: (q) => {
    const ind = new StochasticOscillator({ kPeriod: p(q, 'period'), kSlowingPeriod: p(q, 'smooth'), dPeriod: p(q, 'signal') });
    return {
      update: (c, replace) => {
        const r = step(ind, hlc(c), replace);
        return r === null ? null : { k: r.stochK, d: r.stochD };
      },
    };
  },
  atr: (q) => series(new ATR(p(q, 'period')), hlc),
  cci: (q) => series(new CCI(p(q, 'period')), hlc),
  williamsr: (q) => series(new WilliamsR(p(q, 'period')), hlc),
  adx: (q) => wilderAdx(p(q, 'period')),
  ao: (q) => series(new AO(p(q, 'fast'), p(q, 'slow')), hl),
  donchian: (q) => bands(new DonchianChannels(p(q, 'period')), hl),
};

function createEngine(spec: IndicatorSpec): Engine {
  const make = FACTORIES[getIndicator(spec.name).name];
  if (!make) throw new Error(`no implementation for indicator "${spec.name}"`);
  return make(spec.params);
}

function isFinite(v: IndicatorValue): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  return Object.values(v).every(Number.isFinite);
}

/**
 * The indicator over `candles` (oldest first): one point per candle from the indicator's first
 * value on, aligned to candle times. A bar where the value is undefined (a division by zero over
 * a flat window, say) has no point, so every number is finite.
 */
export function computeIndicator(spec: IndicatorSpec, candles: readonly Candle[]): IndicatorPoint[] {
  const engine = createEngine(spec);
  const first = firstValueAt(spec);
  const out: IndicatorPoint[] = [];
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    const value = engine.update(c, false);
    if (i + 1 >= first && value !== null && isFinite(value)) out.push({ time: c.time, value });
  }
  return out;
}

/** What `LiveIndicator.update` did: the current point (null before warm-up), or a request to reseed. */
export type LiveUpdate = { reseed: false; point: IndicatorPoint | null } | { reseed: true; point: null };

/**
 * An indicator kept current as candles form: `seed` with the closed candles, then `update` with
 * every change. A candle of the same time as the last one replaces it (the forming bar, the
 * library's `replace()`); a newer one is added (`add()`). Each update costs O(window), never a
 * recomputation. A candle older than the last one (a late tick repaired an old bar) cannot be
 * applied in place: `update` asks the caller to `seed` again.
 */
export class LiveIndicator {
  private engine: Engine;
  private readonly first: number;
  private count = 0;
  private last: number | null = null;
  private current: IndicatorPoint | null = null;

  constructor(readonly spec: IndicatorSpec) {
    this.engine = createEngine(spec);
    this.first = firstValueAt(spec);
  }

  /** Starts over from `candles` (oldest first); returns the value at the last one. */
  seed(candles: readonly Candle[]): IndicatorPoint | null {
    this.engine = createEngine(this.spec);
    this.count = 0;
    this.last = null;
    this.current = null;
    for (const c of candles) this.apply(c, false);
    return this.current;
  }

  update(candle: Candle): LiveUpdate {
    if (this.last !== null && candle.time < this.last) return { reseed: true, point: null };
    this.apply(candle, this.last !== null && candle.time === this.last);
    return { reseed: false, point: this.current };
  }

  /** Time of the last candle fed, or null before any. */
  get lastTime(): number | null {
    return this.last;
  }

  /** The current point (null before warm-up or where the value is undefined). */
  get value(): IndicatorPoint | null {
    return this.current;
  }

  private apply(c: Candle, replace: boolean): void {
    if (!replace) this.count++;
    this.last = c.time;
    const value = this.engine.update(c, replace);
    this.current = this.count >= this.first && value !== null && isFinite(value) ? { time: c.time, value } : null;
  }
}
