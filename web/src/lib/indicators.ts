import { getIndicator, parseIndicatorRequest, type ParamSpec } from '../../../src/core/indicators/catalog.js';
import { ValidationError } from '../../../src/core/errors.js';
import { indicatorKey as contractIndicatorKey } from '../../../src/shared/indicator-key.js';
import { MAX_INDICATORS_PER_SUBSCRIPTION } from '../../../src/shared/limits.js';
import type { IndicatorRequest, IndicatorValue } from './types.js';

/**
 * The indicators the app offers (slots over the server's catalog, src/core/indicators/catalog.ts,
 * whose parameter ranges and rules the settings use as they are: one statement of them) and how
 * each is drawn: on the price pane (overlay) or in a pane of its own.
 */
export interface LineStyleSpec {
  /** Key in a multi-line value object; null for a single number. */
  output: string | null;
  label: string;
  color: string;
  kind?: 'line' | 'histogram';
  width?: number;
}

export interface IndicatorChoice {
  /** Stable id of the slot, for the menu and storage, e.g. `ema20` (its period may be changed). */
  id: string;
  name: string;
  params: Record<string, number>;
  /** e.g. `EMA 20`, `MACD 12, 26, 9`: the short name and the parameters in the catalog's order. */
  label: string;
  placement: 'overlay' | 'pane';
  lines: LineStyleSpec[];
  /** Horizontal guide levels (RSI 30/70, ...), kept in view by the pane's autoscale. */
  levels?: number[];
  /** Digits shown in the legend; null: the pair's price precision. */
  digits: number | null;
}

interface IndicatorPreset extends Omit<IndicatorChoice, 'label' | 'params'> {
  /** Short name in labels. */
  short: string;
  /** The slot's default parameters (the catalog's defaults, unless the slot says otherwise). */
  params?: Record<string, number>;
  /** Levels the user may set, and the range they live in (an oscillator's scale). */
  levelRange?: readonly [number, number];
}

const PRESETS: readonly IndicatorPreset[] = [
  { id: 'sma20', name: 'sma', short: 'SMA', placement: 'overlay', digits: null, lines: [{ output: null, label: 'SMA', color: '#f0b90b' }] },
  { id: 'sma50', name: 'sma', short: 'SMA', params: { period: 50 }, placement: 'overlay', digits: null, lines: [{ output: null, label: 'SMA', color: '#e91e63' }] },
  { id: 'ema20', name: 'ema', short: 'EMA', placement: 'overlay', digits: null, lines: [{ output: null, label: 'EMA', color: '#2f81f7' }] },
  { id: 'ema50', name: 'ema', short: 'EMA', params: { period: 50 }, placement: 'overlay', digits: null, lines: [{ output: null, label: 'EMA', color: '#ab47bc' }] },
  { id: 'wma20', name: 'wma', short: 'WMA', placement: 'overlay', digits: null, lines: [{ output: null, label: 'WMA', color: '#4dd0e1' }] },
  { id: 'hma20', name: 'hma', short: 'HMA', placement: 'overlay', digits: null, lines: [{ output: null, label: 'HMA', color: '#ff8a65' }] },
  {
    id: 'bollinger',
    name: 'bollinger',
    short: 'Bollinger',
    placement: 'overlay',
    digits: null,
    lines: [
      { output: 'upper', label: 'BB upper', color: 'rgba(126, 87, 194, 0.9)', width: 1 },
      { output: 'middle', label: 'BB mid', color: 'rgba(126, 87, 194, 0.55)', width: 1 },
      { output: 'lower', label: 'BB lower', color: 'rgba(126, 87, 194, 0.9)', width: 1 },
    ],
  },
  {
    id: 'donchian',
    name: 'donchian',
    short: 'Donchian',
    placement: 'overlay',
    digits: null,
    lines: [
      { output: 'upper', label: 'DC upper', color: 'rgba(38, 166, 154, 0.7)', width: 1 },
      { output: 'lower', label: 'DC lower', color: 'rgba(239, 83, 80, 0.7)', width: 1 },
    ],
  },
  { id: 'rsi14', name: 'rsi', short: 'RSI', placement: 'pane', digits: 2, levels: [30, 70], levelRange: [0, 100], lines: [{ output: null, label: 'RSI', color: '#b388ff' }] },
  {
    id: 'macd',
    name: 'macd',
    short: 'MACD',
    placement: 'pane',
    digits: null,
    levels: [0],
    lines: [
      { output: 'histogram', label: 'Hist', color: '#26a69a', kind: 'histogram' },
      { output: 'macd', label: 'MACD', color: '#2f81f7' },
      { output: 'signal', label: 'Signal', color: '#ff9800' },
    ],
  },
  {
    id: 'stochastic',
    name: 'stochastic',
    short: 'Stochastic',
    params: { smooth: 3 },
    placement: 'pane',
    digits: 2,
    levels: [20, 80],
    levelRange: [0, 100],
    lines: [
      { output: 'k', label: '%K', color: '#2f81f7' },
      { output: 'd', label: '%D', color: '#ff9800' },
    ],
  },
  { id: 'atr14', name: 'atr', short: 'ATR', placement: 'pane', digits: null, lines: [{ output: null, label: 'ATR', color: '#ef9a9a' }] },
  { id: 'cci20', name: 'cci', short: 'CCI', placement: 'pane', digits: 2, levels: [-100, 100], lines: [{ output: null, label: 'CCI', color: '#4dd0e1' }] },
  { id: 'williamsr14', name: 'williamsr', short: 'Williams %R', placement: 'pane', digits: 2, levels: [-80, -20], levelRange: [-100, 0], lines: [{ output: null, label: '%R', color: '#f06292' }] },
  {
    id: 'adx14',
    name: 'adx',
    short: 'ADX',
    placement: 'pane',
    digits: 2,
    levels: [25],
    lines: [
      { output: 'adx', label: 'ADX', color: '#f0b90b' },
      { output: 'plusDI', label: '+DI', color: '#26a69a' },
      { output: 'minusDI', label: '-DI', color: '#ef5350' },
    ],
  },
  { id: 'mom10', name: 'mom', short: 'Momentum', placement: 'pane', digits: null, levels: [0], lines: [{ output: null, label: 'MOM', color: '#90caf9' }] },
  { id: 'roc10', name: 'roc', short: 'ROC', placement: 'pane', digits: 3, levels: [0], lines: [{ output: null, label: 'ROC', color: '#a5d6a7' }] },
  { id: 'ao', name: 'ao', short: 'Awesome Osc.', placement: 'pane', digits: null, levels: [0], lines: [{ output: null, label: 'AO', color: '#26a69a', kind: 'histogram' }] },
];

const PRESET_BY_ID = new Map(PRESETS.map((p) => [p.id, p]));

/** What the user changed of a slot: its parameters and (for RSI, Stochastic, Williams %R) its levels. */
export interface IndicatorSettings {
  params?: Record<string, number>;
  levels?: number[];
}

export type IndicatorSettingsMap = Record<string, IndicatorSettings>;

/** The catalog's parameters of a slot's indicator: names, defaults, ranges, whole or decimal. */
export function paramSpecs(id: string): readonly ParamSpec[] {
  const preset = PRESET_BY_ID.get(id);
  return preset ? getIndicator(preset.name).params : [];
}

/** The slot's own defaults (the catalog's, unless the slot says otherwise). */
export function defaultParams(id: string): Record<string, number> {
  const preset = PRESET_BY_ID.get(id);
  if (!preset) return {};
  return { ...Object.fromEntries(paramSpecs(id).map((p) => [p.name, p.default])), ...preset.params };
}

/** The levels a user may move, with their default and the range they live in; null when fixed. */
export function levelSpec(id: string): { defaults: readonly number[]; range: readonly [number, number] } | null {
  const preset = PRESET_BY_ID.get(id);
  return preset?.levelRange && preset.levels ? { defaults: preset.levels, range: preset.levelRange } : null;
}

export interface SettingsProblem {
  field: string;
  message: string;
}

/**
 * What is wrong with a slot's settings, by the server's own rules (the catalog's ranges and its
 * cross-parameter checks, as GET /api/indicators and subscribe apply them); empty when fine.
 */
export function settingsProblems(id: string, settings: IndicatorSettings): SettingsProblem[] {
  const preset = PRESET_BY_ID.get(id);
  if (!preset) return [{ field: 'name', message: `unknown indicator "${id}"` }];
  const problems: SettingsProblem[] = [];
  const params = { ...defaultParams(id), ...settings.params };
  try {
    // Numbers as the query string carries them: the catalog checks range and whole numbers.
    parseIndicatorRequest({ name: preset.name, ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Number.isFinite(v) ? String(v) : 'NaN'])) });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const d of err.details) problems.push({ field: d.field, message: d.message });
  }
  const spec = levelSpec(id);
  if (settings.levels !== undefined) {
    if (!spec) problems.push({ field: 'levels', message: 'are fixed for this indicator' });
    else {
      const [min, max] = spec.range;
      settings.levels.forEach((v, i) => {
        if (!Number.isFinite(v) || v < min || v > max) problems.push({ field: `level${i}`, message: `must be a number from ${min} to ${max}` });
      });
      if (settings.levels.length !== spec.defaults.length) problems.push({ field: 'levels', message: `must be ${spec.defaults.length} numbers` });
    }
  }
  return problems;
}

/** A slot with its settings applied; settings that break the rules (an old stored value) give the defaults. */
export function indicatorChoice(id: string, settings: IndicatorSettings = {}): IndicatorChoice | undefined {
  const preset = PRESET_BY_ID.get(id);
  if (!preset) return undefined;
  const ok = settingsProblems(id, settings).length === 0;
  const params = { ...defaultParams(id), ...(ok ? settings.params : {}) };
  const levels = ok && settings.levels ? [...settings.levels].sort((a, b) => a - b) : preset.levels;
  const values = paramSpecs(id).map((p) => params[p.name]);
  const { short, levelRange: _range, params: _defaults, ...rest } = preset;
  return { ...rest, params, label: `${short} ${values.join(', ')}`, ...(levels ? { levels: [...levels] } : {}) };
}

/** Every slot at its defaults, for the menu. */
export const INDICATOR_CHOICES: readonly IndicatorChoice[] = PRESETS.map((p) => indicatorChoice(p.id)!);

/** The server's cap on indicators per subscription (the contract's limit). */
export const MAX_INDICATORS = MAX_INDICATORS_PER_SUBSCRIPTION;

export const DEFAULT_INDICATORS: readonly string[] = ['ema20', 'bollinger', 'rsi14'];

/** A stored settings map, checked (localStorage is read back). */
export function isIndicatorSettingsMap(v: unknown): v is IndicatorSettingsMap {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((s) => {
    if (typeof s !== 'object' || s === null) return false;
    const { params, levels } = s as IndicatorSettings;
    const nums = (x: unknown) => typeof x === 'number';
    return (params === undefined || (typeof params === 'object' && params !== null && Object.values(params).every(nums))) && (levels === undefined || (Array.isArray(levels) && levels.every(nums)));
  });
}

/** What identifies a choice as drawn: its slot, parameters and levels (a change means new series). */
export function choiceSignature(c: IndicatorChoice): string {
  return `${c.id}:${indicatorKey(c)}:${(c.levels ?? []).join('/')}`;
}

/** What to send in `subscribe`: every parameter spelled out, so the server's key is predictable. */
export function indicatorRequest(choice: IndicatorChoice): IndicatorRequest {
  return { name: choice.name, ...choice.params };
}

/** The key the server sends an indicator's values under, e.g. `macd(fast=12,signal=9,slow=26)`. */
export function indicatorKey(choice: Pick<IndicatorChoice, 'name' | 'params'>): string {
  return contractIndicatorKey(choice);
}

/** One line's number out of an indicator value (a number, or an object for multi-line ones). */
export function lineValue(value: IndicatorValue | null | undefined, output: string | null): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return output === null ? value : null;
  if (output === null) return null;
  const v = value[output];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
