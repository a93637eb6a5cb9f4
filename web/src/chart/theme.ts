import { ColorType, CrosshairMode, LineStyle, type ChartOptions, type DeepPartial } from 'lightweight-charts';

/** One palette for the CSS (see styles.css) and the canvas. */
export const COLORS = {
  bg: '#0b0e14',
  panel: '#10141b',
  grid: 'rgba(42, 50, 63, 0.45)',
  border: '#1f2630',
  text: '#8b949e',
  textStrong: '#d5dbe3',
  up: '#26a69a',
  down: '#ef5350',
  upVolume: 'rgba(38, 166, 154, 0.35)',
  downVolume: 'rgba(239, 83, 80, 0.35)',
  crosshair: '#5d6b7e',
  accent: '#2f81f7',
  alert: '#f0b90b',
  drawing: '#4da3ff',
  drawingSelected: '#ffffff',
  level: 'rgba(139, 148, 158, 0.45)',
  watermark: 'rgba(139, 148, 158, 0.07)',
} as const;

/** `attribution`: the TradingView logo the library's licence asks a page to show (once is enough). */
export function chartOptions(compact: boolean, attribution = !compact): DeepPartial<ChartOptions> {
  return {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: COLORS.bg },
      textColor: COLORS.text,
      fontSize: compact ? 10 : 11,
      fontFamily: "'Inter', 'Segoe UI', system-ui, -apple-system, sans-serif",
      panes: { separatorColor: COLORS.border, separatorHoverColor: 'rgba(47, 129, 247, 0.25)', enableResize: true },
      attributionLogo: attribution,
    },
    grid: {
      vertLines: { color: COLORS.grid },
      horzLines: { color: COLORS.grid },
    },
    crosshair: {
      mode: CrosshairMode.Normal,
      vertLine: { color: COLORS.crosshair, style: LineStyle.Dashed, width: 1, labelBackgroundColor: '#2a3340' },
      horzLine: { color: COLORS.crosshair, style: LineStyle.Dashed, width: 1, labelBackgroundColor: '#2a3340' },
    },
    rightPriceScale: { borderColor: COLORS.border, scaleMargins: { top: 0.08, bottom: 0.22 } },
    timeScale: {
      borderColor: COLORS.border,
      timeVisible: true,
      secondsVisible: false,
      rightOffset: compact ? 4 : 8,
      barSpacing: compact ? 5 : 7,
      minBarSpacing: 1,
      // A fitted short history keeps candles that still look like candles.
      maxBarSpacing: compact ? 24 : 36,
    },
  };
}
