import { describe, expect, test } from 'vitest';
import { INDICATORS } from '../../../src/core/indicators/catalog.js';
import { choiceSignature, defaultParams, INDICATOR_CHOICES, indicatorChoice, indicatorKey, levelSpec, paramSpecs, settingsProblems } from './indicators.js';

describe('indicator settings', () => {
  test('every slot is an indicator of the server catalog, with its parameters and ranges', () => {
    for (const c of INDICATOR_CHOICES) {
      const def = INDICATORS.find((d) => d.name === c.name);
      expect(def, c.id).toBeDefined();
      expect(paramSpecs(c.id)).toBe(def!.params);
      expect(Object.keys(c.params).sort()).toEqual(def!.params.map((p) => p.name).sort());
    }
  });

  test('labels follow the parameters; defaults are the catalog\'s unless the slot sets its own', () => {
    expect(indicatorChoice('rsi14')!.label).toBe('RSI 14');
    expect(indicatorChoice('macd')!.label).toBe('MACD 12, 26, 9');
    expect(indicatorChoice('sma50')!.params).toEqual({ period: 50 });
    expect(defaultParams('stochastic')).toEqual({ period: 14, signal: 3, smooth: 3 });
    const ema = indicatorChoice('ema20', { params: { period: 34 } })!;
    expect(ema).toMatchObject({ id: 'ema20', label: 'EMA 34', params: { period: 34 } });
    expect(indicatorKey(ema)).toBe('ema(period=34)');
    expect(choiceSignature(ema)).not.toBe(choiceSignature(indicatorChoice('ema20')!));
  });

  test('the server\'s ranges and rules: out of range, not whole, fast not below slow', () => {
    // EMA's period is 1-200 in the catalog, SMA's 1-1000.
    expect(settingsProblems('ema20', { params: { period: 201 } })).toEqual([{ field: 'period', message: 'must be a whole number from 1 to 200 (default 20)' }]);
    expect(settingsProblems('sma20', { params: { period: 1000 } })).toEqual([]);
    expect(settingsProblems('rsi14', { params: { period: 2.5 } })[0]!.field).toBe('period');
    expect(settingsProblems('rsi14', { params: { period: Number.NaN } })[0]!.field).toBe('period');
    expect(settingsProblems('macd', { params: { fast: 30, slow: 26 } })).toEqual([{ field: 'fast', message: 'must be less than slow (got fast=30, slow=26)' }]);
    // Bollinger's width is a decimal from 0.1 to 10.
    expect(settingsProblems('bollinger', { params: { stddev: 2.5 } })).toEqual([]);
    expect(settingsProblems('bollinger', { params: { stddev: 0.05 } })[0]!.field).toBe('stddev');
  });

  test('a stored setting that breaks the rules falls back to the defaults', () => {
    expect(indicatorChoice('ema20', { params: { period: 5000 } })!.params).toEqual({ period: 20 });
  });

  test('RSI, Stochastic and Williams %R levels can be moved within their scale; others are fixed', () => {
    expect(levelSpec('rsi14')).toEqual({ defaults: [30, 70], range: [0, 100] });
    expect(levelSpec('stochastic')).toEqual({ defaults: [20, 80], range: [0, 100] });
    expect(levelSpec('williamsr14')).toEqual({ defaults: [-80, -20], range: [-100, 0] });
    expect(levelSpec('macd')).toBeNull();
    expect(indicatorChoice('rsi14', { levels: [75, 25] })!.levels).toEqual([25, 75]);
    expect(settingsProblems('rsi14', { levels: [30, 170] })).toEqual([{ field: 'level1', message: 'must be a number from 0 to 100' }]);
    expect(settingsProblems('williamsr14', { levels: [-80, 20] })[0]!.field).toBe('level1');
    expect(settingsProblems('macd', { levels: [1] })[0]!.field).toBe('levels');
  });
});
