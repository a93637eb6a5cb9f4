import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Candle } from '../../src/core/candle.js';
import { ValidationError } from '../../src/core/errors.js';
import {
  defaultSpec,
  firstValueAt,
  INDICATOR_NAMES,
  INDICATORS,
  parseIndicatorRequest,
  warmupCandles,
  type IndicatorSpec,
} from '../../src/core/indicators/catalog.js';
import { computeIndicator, LiveIndicator, type IndicatorValue } from '../../src/core/indicators/indicator-series.js';
import { MAX_INDICATOR_CANDLES, MAX_INDICATOR_VALUES } from '../../src/http/routes/indicators.js';
import { makeCandles } from '../fixtures/indicators/generate-reference.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/indicators');
const candles = (JSON.parse(readFileSync(join(FIXTURES, 'candles.json'), 'utf8')) as { candles: Candle[] }).candles;

interface Fixture {
  indicator: string;
  params: Record<string, number>;
  source: string;
  crossChecked: string;
  values: { time: number; value: IndicatorValue }[];
}
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json') && f !== 'candles.json')
  .sort()
  .map((file) => ({ file, ...(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture) }));

/**
 * Within 1e-9 relative. Values that cross zero (MACD histogram, momentum, AO) are compared
 * against a floor of 1e-3, i.e. to 1e-12 absolute: about 1e-12 of the price scale (~1.08).
 */
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-3);
}
const asRecord = (v: IndicatorValue): Record<string, number> => (typeof v === 'number' ? { value: v } : v);

function expectNearPoints(actual: { time: number; value: IndicatorValue }[], expected: { time: number; value: IndicatorValue }[], what: string) {
  expect(actual.map((p) => p.time), `${what}: times`).toEqual(expected.map((p) => p.time));
  for (let i = 0; i < expected.length; i++) {
    const a = asRecord(actual[i]!.value);
    const e = asRecord(expected[i]!.value);
    expect(Object.keys(a).sort(), `${what}: keys`).toEqual(Object.keys(e).sort());
    for (const k of Object.keys(e)) {
      if (!near(a[k]!, e[k]!)) {
        throw new Error(`${what}: at time ${expected[i]!.time} ${k} = ${a[k]} but the reference says ${e[k]} (relative ${Math.abs(a[k]! - e[k]!) / Math.abs(e[k]!)})`);
      }
    }
  }
}

/** A candle with a different close (high/low widened to contain it). */
const withClose = (c: Candle, close: number): Candle => ({ ...c, close, high: Math.max(c.high, close), low: Math.min(c.low, close) });

describe('indicator catalog', () => {
  test('has the required indicators (and extras), lower-case names, defaults inside their ranges', () => {
    for (const name of ['sma', 'ema', 'wma', 'dema', 'rsi', 'macd', 'bollinger', 'stochastic', 'atr', 'cci', 'williamsr', 'adx', 'roc']) {
      expect(INDICATOR_NAMES).toContain(name);
    }
    expect(INDICATOR_NAMES.length).toBeGreaterThanOrEqual(18);
    expect(new Set(INDICATOR_NAMES).size).toBe(INDICATOR_NAMES.length);
    for (const def of INDICATORS) {
      expect(def.name).toMatch(/^[a-z]+$/);
      for (const p of def.params) {
        expect(p.default).toBeGreaterThanOrEqual(p.min);
        expect(p.default).toBeLessThanOrEqual(p.max);
      }
      expect(parseIndicatorRequest({ name: def.name })).toEqual(defaultSpec(def.name));
    }
  });

  test('warm-up plus the largest limit stays within the candles one request reads, at every maximum', () => {
    for (const def of INDICATORS) {
      const max: Record<string, number> = Object.fromEntries(def.params.map((p) => [p.name, p.max]));
      // fast < slow: the largest valid fast.
      if ('fast' in max && 'slow' in max) max.fast = max.slow! - 1;
      const spec = { name: def.name, params: max };
      expect(warmupCandles(spec) + MAX_INDICATOR_VALUES, def.name).toBeLessThanOrEqual(MAX_INDICATOR_CANDLES);
      expect(warmupCandles(spec)).toBeGreaterThanOrEqual(firstValueAt(spec) - 1);
    }
  });
});

describe('computeIndicator', () => {
  test.each(INDICATOR_NAMES)('%s: a value for every candle from its first one on, finite, aligned to candle times', (name) => {
    const spec = defaultSpec(name);
    const points = computeIndicator(spec, candles);
    const first = firstValueAt(spec);
    expect(points).toHaveLength(candles.length - first + 1);
    expect(points.map((p) => p.time)).toEqual(candles.slice(first - 1).map((c) => c.time));
    const outputs = INDICATORS.find((d) => d.name === name)!.outputs;
    for (const { value } of points) {
      if (outputs) {
        expect(Object.keys(value).sort()).toEqual([...outputs].sort());
        expect(Object.values(value).every(Number.isFinite)).toBe(true);
      } else {
        expect(Number.isFinite(value)).toBe(true);
      }
    }
    // Fewer candles than the first value needs: no values, no error.
    expect(computeIndicator(spec, candles.slice(0, first - 1))).toEqual([]);
  });

  test('every catalog indicator has a reference fixture that names its source', () => {
    expect(new Set(fixtures.map((f) => f.indicator))).toEqual(new Set(INDICATOR_NAMES));
    for (const f of fixtures) {
      expect(f.source, f.file).toMatch(/generate-reference\.ts/);
      expect(f.crossChecked, f.file).toEqual(expect.any(String));
      expect(f.values.length, f.file).toBeGreaterThanOrEqual(100);
    }
  });

  test.each(fixtures.map((f) => [f.file, f] as const))('%s: the last 100 values match the independent reference within 1e-9', (_file, fixture) => {
    const spec = parseIndicatorRequest({ name: fixture.indicator, ...Object.fromEntries(Object.entries(fixture.params).map(([k, v]) => [k, String(v)])) });
    expect(spec.params).toEqual(fixture.params);
    const expected = fixture.values.slice(-100);
    const byTime = new Map(computeIndicator(spec, candles).map((p) => [p.time, p]));
    const actual = expected.map((e) => byTime.get(e.time) ?? { time: -1, value: NaN });
    expectNearPoints(actual, expected, fixture.file);
  });

  // The route's promise: limit + warmupCandles candles give the same latest values as the whole history.
  const long = makeCandles(3000, 7) as Candle[];
  const cases: IndicatorSpec[] = [
    ...INDICATOR_NAMES.map((n) => defaultSpec(n)),
    defaultSpec('ema', { period: 200 }),
    defaultSpec('rsi', { period: 3 }),
    defaultSpec('macd', { fast: 3, slow: 6, signal: 4 }),
    defaultSpec('macd', { fast: 50, slow: 100, signal: 30 }),
    defaultSpec('adx', { period: 30 }),
    defaultSpec('tema', { period: 50 }),
    defaultSpec('stochastic', { period: 5, smooth: 3, signal: 5 }),
  ];
  test.each(cases.map((s) => [`${s.name} ${JSON.stringify(s.params)}`, s] as const))(
    '%s: the last 100 values over limit + warm-up candles equal those over the whole history',
    (_label, spec) => {
      const limit = 100;
      const whole = computeIndicator(spec, long).slice(-limit);
      const windowed = computeIndicator(spec, long.slice(-(limit + warmupCandles(spec)))).slice(-limit);
      expect(whole).toHaveLength(limit);
      expectNearPoints(windowed, whole, spec.name);
    },
  );

  test('the warm-up is needed: with a tenth of it, smoothed indicators still remember where they started', () => {
    for (const spec of [defaultSpec('ema', { period: 50 }), defaultSpec('rsi'), defaultSpec('atr'), defaultSpec('adx')]) {
      const whole = computeIndicator(spec, long).slice(-100);
      const short = computeIndicator(spec, long.slice(-(100 + Math.ceil(warmupCandles(spec) / 10)))).slice(-100);
      expect(() => expectNearPoints(short, whole, spec.name), spec.name).toThrow(/reference says/);
    }
  });
});

describe('LiveIndicator: add() for a new candle, replace() for the forming one', () => {
  test.each(INDICATOR_NAMES)('%s: replacing the last candle several times equals recomputing', (name) => {
    const spec = defaultSpec(name);
    const n = 300;
    const live = new LiveIndicator(spec);
    const seeded = live.seed(candles.slice(0, n - 1));
    expect(seeded).toEqual(computeIndicator(spec, candles.slice(0, n - 1)).at(-1));
    let last = candles[n - 1]!;
    const r0 = live.update(last); // a new candle: add()
    expect(r0).toEqual({ reseed: false, point: computeIndicator(spec, candles.slice(0, n)).at(-1) });
    for (const close of [last.close * 1.001, last.close * 0.998, last.close + 0.00003, last.close]) {
      last = withClose(last, close);
      const r = live.update(last); // same time: replace()
      const recomputed = computeIndicator(spec, [...candles.slice(0, n - 1), last]).at(-1);
      expect(r).toEqual({ reseed: false, point: recomputed });
      expect(live.value).toEqual(recomputed);
    }
    // The next candle is added on top of the replaced one.
    const next = candles[n]!;
    expect(live.update(next)).toEqual({ reseed: false, point: computeIndicator(spec, [...candles.slice(0, n - 1), last, next]).at(-1) });
    expect(live.lastTime).toBe(next.time);
  });

  test.each(INDICATOR_NAMES)('%s: a live feed with every bar forming (add, then replaces) equals recomputation at every bar, warm-up included', (name) => {
    const spec = defaultSpec(name);
    const bars = candles.slice(0, 120);
    const expected = new Map(computeIndicator(spec, bars).map((p) => [p.time, p]));
    const live = new LiveIndicator(spec);
    for (const c of bars) {
      // The bar opens at another price, swings, then settles on its final values.
      live.update(withClose({ ...c, high: c.open, low: c.open }, c.open));
      live.update(withClose(c, c.high));
      live.update(withClose(c, c.low));
      const r = live.update(c);
      expect(r, `${name} at ${c.time}`).toEqual({ reseed: false, point: expected.get(c.time) ?? null });
    }
  });

  test('null before warm-up; an older candle asks for a reseed and changes nothing; seed() starts over', () => {
    const spec = defaultSpec('rsi');
    const live = new LiveIndicator(spec);
    expect(live.lastTime).toBeNull();
    for (const c of candles.slice(0, 14)) expect(live.update(c)).toEqual({ reseed: false, point: null });
    const at15 = live.update(candles[14]!);
    expect(at15.point).toEqual(computeIndicator(spec, candles.slice(0, 15))[0]);
    expect(live.update(candles[3]!)).toEqual({ reseed: true, point: null });
    expect(live.value).toEqual(at15.point);
    expect(live.lastTime).toBe(candles[14]!.time);
    // A late tick repaired candle 3: seed again with the repaired history.
    const repaired = candles.slice(0, 15).map((c, i) => (i === 3 ? withClose(c, c.close + 0.001) : c));
    expect(live.seed(repaired)).toEqual(computeIndicator(spec, repaired).at(-1));
    expect(live.update(candles[15]!).point).toEqual(computeIndicator(spec, [...repaired, candles[15]!]).at(-1));
    expect(live.seed([])).toBeNull();
    expect(live.lastTime).toBeNull();
  });
});

describe('parseIndicatorRequest', () => {
  function problem(query: Record<string, unknown>): ValidationError {
    try {
      parseIndicatorRequest(query);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return err as ValidationError;
    }
    throw new Error(`accepted ${JSON.stringify(query)}`);
  }

  test('names in any case and common aliases; parameters from query strings; defaults filled in; other keys ignored', () => {
    expect(parseIndicatorRequest({ name: 'RSI', pair: 'EUR/USD_otc', limit: '50', timeframe: '5m' })).toEqual({ name: 'rsi', params: { period: 14 } });
    expect(parseIndicatorRequest({ name: 'Macd', fast: '5', slow: '35' })).toEqual({ name: 'macd', params: { fast: 5, slow: 35, signal: 9 } });
    expect(parseIndicatorRequest({ name: 'BBands', stddev: '2.5', period: '' })).toEqual({ name: 'bollinger', params: { period: 20, stddev: 2.5 } });
    expect(parseIndicatorRequest({ name: 'stoch', smooth: '3' })).toEqual({ name: 'stochastic', params: { period: 14, signal: 3, smooth: 3 } });
    expect(parseIndicatorRequest({ name: 'ao' })).toEqual({ name: 'ao', params: { fast: 5, slow: 34 } });
  });

  test('an unknown or missing name lists every accepted name', () => {
    for (const query of [{ name: 'foo' }, {}, { name: ['rsi', 'sma'] }]) {
      const err = problem(query);
      expect(err.message).toBe('Invalid query parameter "name"');
      expect(err.details).toEqual([{ index: 0, field: 'name', message: expect.stringContaining(`one of ${INDICATOR_NAMES.join(', ')}`) }]);
    }
    expect(problem({ name: 'foo' }).details[0]!.message).toMatch(/^"foo" is not an indicator; must be one of sma, ema, .*donchian \(any case\)$/);
    expect(problem({}).details[0]!.message).toMatch(/^is required/);
  });

  test.each([
    [{ name: 'sma', period: '0' }, 'period', 'must be a whole number from 1 to 1000 (default 20)'],
    [{ name: 'rsi', period: 'x' }, 'period', 'must be a whole number from 2 to 200 (default 14)'],
    [{ name: 'rsi', period: '14.5' }, 'period', 'must be a whole number from 2 to 200 (default 14)'],
    [{ name: 'ema', period: '201' }, 'period', 'must be a whole number from 1 to 200 (default 20)'],
    [{ name: 'ema', period: '-3' }, 'period', 'must be a whole number from 1 to 200 (default 20)'],
    [{ name: 'bollinger', stddev: '-1' }, 'stddev', 'must be a number from 0.1 to 10 (default 2)'],
    [{ name: 'bollinger', stddev: 'wide' }, 'stddev', 'must be a number from 0.1 to 10 (default 2)'],
    [{ name: 'macd', fast: '26', slow: '12' }, 'fast', 'must be less than slow (got fast=26, slow=12)'],
    [{ name: 'macd', fast: '26' }, 'fast', 'must be less than slow (got fast=26, slow=26)'],
    [{ name: 'ao', fast: '40' }, 'fast', 'must be less than slow (got fast=40, slow=34)'],
    [{ name: 'stochastic', signal: '0' }, 'signal', 'must be a whole number from 1 to 100 (default 3)'],
    [{ name: 'rsi', period: ['5', '6'] }, 'period', 'must be given once, as a whole number from 2 to 200 (default 14)'],
    [{ name: 'rsi', stddev: '2' }, 'stddev', 'is not a parameter of rsi; it takes period (2-200, default 14)'],
    [{ name: 'macd', period: '14' }, 'period', 'is not a parameter of macd; it takes fast (1-199, default 12), slow (2-200, default 26), signal (1-200, default 9)'],
  ])('%j is a clear 400 on "%s"', (query, field, message) => {
    const err = problem(query);
    expect(err.message).toBe(`Invalid query parameter "${field}"`);
    expect(err.details).toEqual([{ index: 0, field, message }]);
  });

  test('every bad parameter is reported at once', () => {
    const err = problem({ name: 'macd', fast: '0', slow: 'y', signal: '1000' });
    expect(err.message).toBe('Invalid query parameters "fast", "slow", "signal"');
    expect(err.details.map((d) => d.field)).toEqual(['fast', 'slow', 'signal']);
  });
});
