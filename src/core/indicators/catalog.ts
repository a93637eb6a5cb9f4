import { ValidationError, type FieldIssue } from '../errors.js';

/**
 * The indicators QuFLX computes (pure: no I/O, no trading-signals here). Each entry says which
 * parameters it takes (with defaults and ranges), which candle fields feed it, what it returns,
 * how many candles it needs for its first value, and how much warm-up history makes a value agree
 * with a computation over the pair's whole history.
 */

/** Which candle fields feed an indicator. */
export type IndicatorInput = 'close' | 'high/low' | 'high/low/close';

export interface ParamSpec {
  readonly name: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  readonly description: string;
}

export type IndicatorParams = Readonly<Record<string, number>>;

export interface IndicatorDefinition {
  readonly name: string;
  readonly title: string;
  readonly input: IndicatorInput;
  readonly params: readonly ParamSpec[];
  /** Keys of the value object for multi-line indicators; null when the value is one number. */
  readonly outputs: readonly string[] | null;
  /** What the value means (units), for the README. */
  readonly note: string;
  /** A rule across parameters (e.g. fast < slow), as a field problem; null when met. */
  readonly check?: (p: IndicatorParams) => FieldIssue | null;
  /** Candles up to and including the one that carries the first value. */
  readonly firstValueAt: (p: IndicatorParams) => number;
  /**
   * Candles needed before the earliest value served, so that it agrees with a computation over
   * the whole history (to about 1e-12 of the input scale). Window indicators need exactly
   * firstValueAt - 1; recursive smoothers (EMA, Wilder) forget their seed geometrically.
   */
  readonly warmup: (p: IndicatorParams) => number;
}

export interface IndicatorSpec {
  readonly name: string;
  readonly params: IndicatorParams;
}

/** How far a recursive smoother's seed must have decayed before a value is served. */
export const WARMUP_RESIDUE = 1e-12;

/** Steps after which a recursive smoother of factor `alpha` keeps at most WARMUP_RESIDUE of its seed. */
export function decaySteps(alpha: number): number {
  if (alpha >= 1) return 0;
  return Math.ceil(Math.log(WARMUP_RESIDUE) / Math.log(1 - alpha));
}
/** EMA: alpha = 2 / (period + 1). */
const emaSteps = (period: number) => decaySteps(2 / (period + 1));
/** Wilder's smoothing (RSI, ATR, ADX): alpha = 1 / period. */
const wilderSteps = (period: number) => decaySteps(1 / period);

function num(p: IndicatorParams, key: string): number {
  const v = p[key];
  if (v === undefined) throw new Error(`indicator parameter "${key}" missing`);
  return v;
}

const MAX_WINDOW = 1000;
/** Recursive smoothers need many warm-up candles; this keeps limit + warm-up under 20000. */
const MAX_SMOOTHED = 200;

const period = (def: number, max: number, min = 1, description = 'bars in the window'): ParamSpec => ({
  name: 'period',
  default: def,
  min,
  max,
  integer: true,
  description,
});

function lessThan(a: string, b: string): (p: IndicatorParams) => FieldIssue | null {
  return (p) => (num(p, a) < num(p, b) ? null : { index: 0, field: a, message: `must be less than ${b} (got ${a}=${num(p, a)}, ${b}=${num(p, b)})` });
}

/** A window indicator: its value depends only on the last `n` candles. */
function window(firstValueAt: (p: IndicatorParams) => number) {
  return { firstValueAt, warmup: (p: IndicatorParams) => firstValueAt(p) - 1 };
}

export const INDICATORS: readonly IndicatorDefinition[] = [
  {
    name: 'sma',
    title: 'Simple Moving Average',
    input: 'close',
    params: [period(20, MAX_WINDOW)],
    outputs: null,
    note: 'price',
    ...window((p) => num(p, 'period')),
  },
  {
    name: 'ema',
    title: 'Exponential Moving Average',
    input: 'close',
    params: [period(20, MAX_SMOOTHED)],
    outputs: null,
    note: 'price; alpha = 2/(period+1)',
    firstValueAt: (p) => num(p, 'period'),
    warmup: (p) => num(p, 'period') - 1 + emaSteps(num(p, 'period')),
  },
  {
    name: 'wma',
    title: 'Weighted Moving Average',
    input: 'close',
    params: [period(20, MAX_WINDOW)],
    outputs: null,
    note: 'price; linear weights 1..period',
    ...window((p) => num(p, 'period')),
  },
  {
    name: 'dema',
    title: 'Double Exponential Moving Average',
    input: 'close',
    params: [period(20, MAX_SMOOTHED)],
    outputs: null,
    note: 'price; 2*EMA - EMA(EMA)',
    firstValueAt: (p) => 2 * num(p, 'period') - 1,
    warmup: (p) => 2 * num(p, 'period') - 2 + 2 * emaSteps(num(p, 'period')),
  },
  {
    name: 'tema',
    title: 'Triple Exponential Moving Average',
    input: 'close',
    params: [period(20, MAX_SMOOTHED)],
    outputs: null,
    note: 'price; 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA))',
    firstValueAt: (p) => 3 * num(p, 'period') - 2,
    warmup: (p) => 3 * num(p, 'period') - 3 + 3 * emaSteps(num(p, 'period')),
  },
  {
    name: 'hma',
    title: 'Hull Moving Average',
    input: 'close',
    params: [period(20, MAX_WINDOW, 2)],
    outputs: null,
    note: 'price; WMA(2*WMA(n/2) - WMA(n), sqrt(n))',
    ...window((p) => num(p, 'period') + Math.floor(Math.sqrt(num(p, 'period'))) - 1),
  },
  {
    name: 'rsi',
    title: 'Relative Strength Index (Wilder)',
    input: 'close',
    params: [period(14, MAX_SMOOTHED, 2)],
    outputs: null,
    note: '0 to 100',
    firstValueAt: (p) => num(p, 'period') + 1,
    warmup: (p) => num(p, 'period') + wilderSteps(num(p, 'period')),
  },
  {
    name: 'roc',
    title: 'Rate of Change',
    input: 'close',
    params: [period(10, MAX_WINDOW, 1, 'bars back')],
    outputs: null,
    note: 'percent: 100*(close - close[period]) / close[period]',
    ...window((p) => num(p, 'period') + 1),
  },
  {
    name: 'mom',
    title: 'Momentum',
    input: 'close',
    params: [period(10, MAX_WINDOW, 1, 'bars back')],
    outputs: null,
    note: 'price difference: close - close[period]',
    ...window((p) => num(p, 'period') + 1),
  },
  {
    name: 'macd',
    title: 'Moving Average Convergence Divergence',
    input: 'close',
    params: [
      { name: 'fast', default: 12, min: 1, max: MAX_SMOOTHED - 1, integer: true, description: 'fast EMA period' },
      { name: 'slow', default: 26, min: 2, max: MAX_SMOOTHED, integer: true, description: 'slow EMA period' },
      { name: 'signal', default: 9, min: 1, max: MAX_SMOOTHED, integer: true, description: 'EMA period of the signal line' },
    ],
    outputs: ['macd', 'signal', 'histogram'],
    note: 'macd = EMA(fast) - EMA(slow); signal = EMA(signal) of macd; histogram = macd - signal',
    check: lessThan('fast', 'slow'),
    firstValueAt: (p) => num(p, 'slow') + num(p, 'signal') - 1,
    warmup: (p) => num(p, 'slow') + num(p, 'signal') - 2 + emaSteps(num(p, 'slow')) + emaSteps(num(p, 'signal')),
  },
  {
    name: 'bollinger',
    title: 'Bollinger Bands',
    input: 'close',
    params: [
      period(20, MAX_WINDOW, 2),
      { name: 'stddev', default: 2, min: 0.1, max: 10, integer: false, description: 'band width in population standard deviations' },
    ],
    outputs: ['upper', 'middle', 'lower'],
    note: 'middle = SMA; upper/lower = middle +/- stddev * population standard deviation',
    ...window((p) => num(p, 'period')),
  },
  {
    name: 'stochastic',
    title: 'Stochastic Oscillator',
    input: 'high/low/close',
    params: [
      period(14, MAX_WINDOW, 1, '%K look-back (highest high, lowest low)'),
      { name: 'signal', default: 3, min: 1, max: 100, integer: true, description: '%D: SMA period of %K' },
      { name: 'smooth', default: 1, min: 1, max: 100, integer: true, description: '%K slowing: SMA period of the raw %K (1 = fast stochastic)' },
    ],
    outputs: ['k', 'd'],
    note: '0 to 100',
    ...window((p) => num(p, 'period') + num(p, 'smooth') - 1 + num(p, 'signal') - 1),
  },
  {
    name: 'atr',
    title: 'Average True Range (Wilder)',
    input: 'high/low/close',
    params: [period(14, MAX_SMOOTHED)],
    outputs: null,
    note: 'price distance',
    firstValueAt: (p) => num(p, 'period') + 1,
    warmup: (p) => num(p, 'period') + wilderSteps(num(p, 'period')),
  },
  {
    name: 'cci',
    title: 'Commodity Channel Index',
    input: 'high/low/close',
    params: [period(20, MAX_WINDOW, 2)],
    outputs: null,
    note: '(typical - SMA) / (0.015 * mean deviation); typical = (high+low+close)/3',
    ...window((p) => num(p, 'period')),
  },
  {
    name: 'williamsr',
    title: 'Williams %R',
    input: 'high/low/close',
    params: [period(14, MAX_WINDOW)],
    outputs: null,
    note: '-100 to 0',
    ...window((p) => num(p, 'period')),
  },
  {
    name: 'adx',
    title: 'Average Directional Index (Wilder)',
    input: 'high/low/close',
    params: [period(14, MAX_SMOOTHED, 2)],
    outputs: ['adx', 'plusDI', 'minusDI'],
    note: '0 to 100 each',
    firstValueAt: (p) => 2 * num(p, 'period'),
    warmup: (p) => 2 * num(p, 'period') - 1 + 2 * wilderSteps(num(p, 'period')),
  },
  {
    name: 'ao',
    title: 'Awesome Oscillator',
    input: 'high/low',
    params: [
      { name: 'fast', default: 5, min: 1, max: MAX_WINDOW - 1, integer: true, description: 'fast SMA period of the median price' },
      { name: 'slow', default: 34, min: 2, max: MAX_WINDOW, integer: true, description: 'slow SMA period of the median price' },
    ],
    outputs: null,
    note: 'SMA(fast) - SMA(slow) of (high+low)/2',
    check: lessThan('fast', 'slow'),
    ...window((p) => num(p, 'slow')),
  },
  {
    name: 'donchian',
    title: 'Donchian Channels',
    input: 'high/low',
    params: [period(20, MAX_WINDOW)],
    outputs: ['upper', 'middle', 'lower'],
    note: 'upper = highest high, lower = lowest low, middle = their mean',
    ...window((p) => num(p, 'period')),
  },
];

/** Other spellings accepted for `name` (any case). */
export const INDICATOR_ALIASES: Readonly<Record<string, string>> = {
  bbands: 'bollinger',
  bb: 'bollinger',
  stoch: 'stochastic',
  willr: 'williamsr',
};

export const INDICATOR_NAMES: readonly string[] = INDICATORS.map((d) => d.name);

const BY_NAME = new Map(INDICATORS.map((d) => [d.name, d]));
/** Every parameter name some indicator takes. */
const ALL_PARAMS = new Set(INDICATORS.flatMap((d) => d.params.map((p) => p.name)));

export function getIndicator(name: string): IndicatorDefinition {
  const def = BY_NAME.get(name);
  if (!def) throw new Error(`unknown indicator "${name}"`);
  return def;
}

function describeParam(p: ParamSpec): string {
  return `${p.integer ? 'a whole number' : 'a number'} from ${p.min} to ${p.max} (default ${p.default})`;
}

/** `period (1-200, default 14)` style list, for error messages and the README. */
export function describeParams(def: IndicatorDefinition): string {
  if (def.params.length === 0) return 'no parameters';
  return def.params.map((p) => `${p.name} (${p.min}-${p.max}, default ${p.default})`).join(', ');
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseParam(spec: ParamSpec, raw: unknown): { value: number } | { problem: string } {
  if (raw === undefined || raw === '') return { value: spec.default };
  let n = NaN;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string') {
    const s = raw.trim();
    if (spec.integer ? INTEGER.test(s) : DECIMAL.test(s)) n = Number(s);
  } else if (Array.isArray(raw)) {
    return { problem: `must be given once, as ${describeParam(spec)}` };
  }
  if (!Number.isFinite(n) || (spec.integer && !Number.isInteger(n)) || n < spec.min || n > spec.max) {
    return { problem: `must be ${describeParam(spec)}` };
  }
  return { value: n };
}

function fail(issues: FieldIssue[]): never {
  const fields = [...new Set(issues.map((i) => `"${i.field}"`))];
  throw new ValidationError(`Invalid query parameter${fields.length > 1 ? 's' : ''} ${fields.join(', ')}`, issues);
}

/**
 * The indicator and its parameters from a query: `name` (any case, or an alias) plus the
 * indicator's own parameters, defaults filled in. Other query keys (pair, timeframe, limit, ...)
 * are ignored, except parameters that belong to other indicators, which are a mistake worth
 * naming. Every problem is reported at once as a ValidationError naming the field.
 */
export function parseIndicatorRequest(query: Record<string, unknown>): IndicatorSpec {
  const rawName = query.name;
  const accepted = `one of ${INDICATOR_NAMES.join(', ')} (any case)`;
  if (rawName === undefined || rawName === '') fail([{ index: 0, field: 'name', message: `is required: ${accepted}` }]);
  const lower = typeof rawName === 'string' ? rawName.trim().toLowerCase() : '';
  const def = BY_NAME.get(INDICATOR_ALIASES[lower] ?? lower);
  if (!def) {
    const message = typeof rawName === 'string' ? `"${rawName.slice(0, 40)}" is not an indicator; must be ${accepted}` : `must be a single name, ${accepted}`;
    fail([{ index: 0, field: 'name', message }]);
  }

  const issues: FieldIssue[] = [];
  const params: Record<string, number> = {};
  for (const spec of def.params) {
    const r = parseParam(spec, query[spec.name]);
    if ('problem' in r) issues.push({ index: 0, field: spec.name, message: r.problem });
    else params[spec.name] = r.value;
  }
  const own = new Set(def.params.map((p) => p.name));
  for (const key of Object.keys(query)) {
    if (ALL_PARAMS.has(key) && !own.has(key) && query[key] !== undefined && query[key] !== '') {
      issues.push({ index: 0, field: key, message: `is not a parameter of ${def.name}; it takes ${describeParams(def)}` });
    }
  }
  if (issues.length === 0 && def.check) {
    const problem = def.check(params);
    if (problem) issues.push(problem);
  }
  if (issues.length > 0) fail(issues);
  return { name: def.name, params };
}

/** A spec with every parameter at its default (throws for an unknown name). */
export function defaultSpec(name: string, overrides: Record<string, number> = {}): IndicatorSpec {
  const def = getIndicator(name);
  return { name: def.name, params: { ...Object.fromEntries(def.params.map((p) => [p.name, p.default])), ...overrides } };
}

/** Candles up to and including the one that carries the spec's first value. */
export function firstValueAt(spec: IndicatorSpec): number {
  return getIndicator(spec.name).firstValueAt(spec.params);
}

/** Candles needed before the earliest value served so it agrees with a whole-history computation. */
export function warmupCandles(spec: IndicatorSpec): number {
  return getIndicator(spec.name).warmup(spec.params);
}

/** The README table: one row per indicator. */
export function indicatorTableMarkdown(): string {
  const rows = INDICATORS.map((d) => {
    const params = d.params.map((p) => `\`${p.name}\` ${p.default} (${p.min}-${p.max}${p.integer ? '' : ', decimal'})`).join(', ');
    const out = d.outputs ? `{ ${d.outputs.join(', ')} }` : 'number';
    return `| \`${d.name}\` | ${d.title} | ${params} | ${out}: ${d.note} | ${d.input} |`;
  });
  return ['| name | indicator | parameters: default (range) | value | input |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
