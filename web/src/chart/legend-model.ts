import { formatPrice, formatVolume } from '../lib/format.js';
import { lineValue, type IndicatorChoice } from '../lib/indicators.js';
import { formatDateTime, type TimeZoneChoice } from '../lib/time-zone.js';
import type { Candle, IndicatorValue } from '../lib/types.js';

/** What the chart legend shows, worked out apart from the DOM (the controller renders it). */
export interface LegendModel {
  /** `<pair>` and `<TF>` (e.g. `EUR/USD_otc` `1D`); null on a grid cell, whose header names them. */
  title: { pair: string; timeframe: string } | null;
  /** Time left in the current bar (`0:42`); null when compact or without bars. */
  countdown: string | null;
  /** The bar's open time in the page's zone; null when compact or without a bar. */
  time: string | null;
  /** Up (close >= open) or down; null without a bar. */
  direction: 'up' | 'down' | null;
  /** O, H, L, C of the bar, formatted to the pair's precision. */
  ohlc: { label: 'O' | 'H' | 'L' | 'C'; text: string }[];
  /** Change from open to close, e.g. `+0.012%`; null when compact or without a bar. */
  change: string | null;
  volume: string | null;
  indicators: { id: string; name: string; values: { text: string; color: string }[] }[];
}

export interface LegendInput {
  pair: string;
  timeframe: string;
  /** Time left in the current bar, when there is one. */
  countdown?: string | null;
  compact: boolean;
  precision: number;
  zone: TimeZoneChoice;
  /** The bar under the crosshair, else the latest; undefined when there is none. */
  bar: Candle | undefined;
  indicators: { choice: IndicatorChoice; value: IndicatorValue | null | undefined }[];
  colors: { up: string; down: string };
}

export function legendModel(input: LegendInput): LegendModel {
  const { bar, compact, precision: p } = input;
  const direction = bar ? (bar.close >= bar.open ? 'up' : 'down') : null;
  const changePct = bar && bar.open !== 0 ? ((bar.close - bar.open) / bar.open) * 100 : 0;
  return {
    title: compact ? null : { pair: input.pair, timeframe: input.timeframe },
    countdown: compact ? null : (input.countdown ?? null),
    time: bar && !compact ? formatDateTime(bar.time * 1000, input.zone, input.timeframe.endsWith('S') ? 'seconds' : 'minutes') : null,
    direction,
    ohlc: bar
      ? [
          { label: 'O', text: formatPrice(bar.open, p) },
          { label: 'H', text: formatPrice(bar.high, p) },
          { label: 'L', text: formatPrice(bar.low, p) },
          { label: 'C', text: formatPrice(bar.close, p) },
        ]
      : [],
    change: bar && !compact ? `${changePct >= 0 ? '+' : '−'}${Math.abs(changePct).toFixed(3)}%` : null,
    volume: bar ? formatVolume(bar.volume) : null,
    indicators: input.indicators
      .filter(({ choice }) => !(compact && choice.placement === 'pane'))
      .map(({ choice, value }) => ({
        id: choice.id,
        name: choice.label,
        values: choice.lines.map((line) => {
          const v = lineValue(value, line.output);
          const color = line.kind === 'histogram' && v !== null ? (v >= 0 ? input.colors.up : input.colors.down) : line.color;
          return { text: formatPrice(v, choice.digits ?? p), color };
        }),
      })),
  };
}
