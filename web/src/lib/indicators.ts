import { indicatorKey as contractIndicatorKey } from '../../../src/shared/indicator-key.js';
import { MAX_INDICATORS_PER_SUBSCRIPTION } from '../../../src/shared/limits.js';
import type { IndicatorRequest, IndicatorValue } from './types.js';

/**
 * The indicators the app offers (a subset of the server's catalog, src/core/indicators/catalog.ts)
 * and how each one is drawn: on the price pane (overlay) or in a pane of its own.
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
  /** Stable id for the menu and storage, e.g. `ema20`. */
  id: string;
  name: string;
  params: Record<string, number>;
  label: string;
  placement: 'overlay' | 'pane';
  lines: LineStyleSpec[];
  /** Horizontal guide levels (RSI 30/70, ...). */
  levels?: number[];
  /** Digits shown in the legend; null: the pair's price precision. */
  digits: number | null;
}

export const INDICATOR_CHOICES: readonly IndicatorChoice[] = [
  { id: 'sma20', name: 'sma', params: { period: 20 }, label: 'SMA 20', placement: 'overlay', digits: null, lines: [{ output: null, label: 'SMA 20', color: '#f0b90b' }] },
  { id: 'sma50', name: 'sma', params: { period: 50 }, label: 'SMA 50', placement: 'overlay', digits: null, lines: [{ output: null, label: 'SMA 50', color: '#e91e63' }] },
  { id: 'ema20', name: 'ema', params: { period: 20 }, label: 'EMA 20', placement: 'overlay', digits: null, lines: [{ output: null, label: 'EMA 20', color: '#2f81f7' }] },
  { id: 'ema50', name: 'ema', params: { period: 50 }, label: 'EMA 50', placement: 'overlay', digits: null, lines: [{ output: null, label: 'EMA 50', color: '#ab47bc' }] },
  { id: 'wma20', name: 'wma', params: { period: 20 }, label: 'WMA 20', placement: 'overlay', digits: null, lines: [{ output: null, label: 'WMA 20', color: '#4dd0e1' }] },
  { id: 'hma20', name: 'hma', params: { period: 20 }, label: 'HMA 20', placement: 'overlay', digits: null, lines: [{ output: null, label: 'HMA 20', color: '#ff8a65' }] },
  {
    id: 'bollinger',
    name: 'bollinger',
    params: { period: 20, stddev: 2 },
    label: 'Bollinger 20, 2',
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
    params: { period: 20 },
    label: 'Donchian 20',
    placement: 'overlay',
    digits: null,
    lines: [
      { output: 'upper', label: 'DC upper', color: 'rgba(38, 166, 154, 0.7)', width: 1 },
      { output: 'lower', label: 'DC lower', color: 'rgba(239, 83, 80, 0.7)', width: 1 },
    ],
  },
  { id: 'rsi14', name: 'rsi', params: { period: 14 }, label: 'RSI 14', placement: 'pane', digits: 2, levels: [30, 70], lines: [{ output: null, label: 'RSI 14', color: '#b388ff' }] },
  {
    id: 'macd',
    name: 'macd',
    params: { fast: 12, slow: 26, signal: 9 },
    label: 'MACD 12, 26, 9',
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
    params: { period: 14, signal: 3, smooth: 3 },
    label: 'Stochastic 14, 3, 3',
    placement: 'pane',
    digits: 2,
    levels: [20, 80],
    lines: [
      { output: 'k', label: '%K', color: '#2f81f7' },
      { output: 'd', label: '%D', color: '#ff9800' },
    ],
  },
  { id: 'atr14', name: 'atr', params: { period: 14 }, label: 'ATR 14', placement: 'pane', digits: null, lines: [{ output: null, label: 'ATR 14', color: '#ef9a9a' }] },
  { id: 'cci20', name: 'cci', params: { period: 20 }, label: 'CCI 20', placement: 'pane', digits: 2, levels: [-100, 100], lines: [{ output: null, label: 'CCI 20', color: '#4dd0e1' }] },
  { id: 'williamsr14', name: 'williamsr', params: { period: 14 }, label: 'Williams %R 14', placement: 'pane', digits: 2, levels: [-80, -20], lines: [{ output: null, label: '%R 14', color: '#f06292' }] },
  {
    id: 'adx14',
    name: 'adx',
    params: { period: 14 },
    label: 'ADX 14',
    placement: 'pane',
    digits: 2,
    levels: [25],
    lines: [
      { output: 'adx', label: 'ADX', color: '#f0b90b' },
      { output: 'plusDI', label: '+DI', color: '#26a69a' },
      { output: 'minusDI', label: '-DI', color: '#ef5350' },
    ],
  },
  { id: 'mom10', name: 'mom', params: { period: 10 }, label: 'Momentum 10', placement: 'pane', digits: null, levels: [0], lines: [{ output: null, label: 'MOM 10', color: '#90caf9' }] },
  { id: 'roc10', name: 'roc', params: { period: 10 }, label: 'ROC 10', placement: 'pane', digits: 3, levels: [0], lines: [{ output: null, label: 'ROC 10', color: '#a5d6a7' }] },
  { id: 'ao', name: 'ao', params: { fast: 5, slow: 34 }, label: 'Awesome Osc. 5, 34', placement: 'pane', digits: null, levels: [0], lines: [{ output: null, label: 'AO', color: '#26a69a', kind: 'histogram' }] },
];

const BY_ID = new Map(INDICATOR_CHOICES.map((c) => [c.id, c]));

export function indicatorChoice(id: string): IndicatorChoice | undefined {
  return BY_ID.get(id);
}

/** The server's cap on indicators per subscription (the contract's limit). */
export const MAX_INDICATORS = MAX_INDICATORS_PER_SUBSCRIPTION;

export const DEFAULT_INDICATORS: readonly string[] = ['ema20', 'bollinger', 'rsi14'];

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
