import type { IChartApi } from 'lightweight-charts';
import { COLORS } from './theme.js';

/**
 * The chart as a PNG: Lightweight Charts' `takeScreenshot()` (every pane, the scales and the top
 * layer with the drawings) with a title line above it, since the legend is not on the canvas.
 */
export function chartScreenshot(chart: IChartApi, title: string): Promise<Blob | null> {
  const shot = chart.takeScreenshot(true);
  const band = 28;
  const canvas = document.createElement('canvas');
  canvas.width = shot.width;
  canvas.height = shot.height + band;
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.resolve(null);
  ctx.fillStyle = COLORS.bg;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = COLORS.textStrong;
  ctx.font = "600 13px 'Inter', 'Segoe UI', system-ui, sans-serif";
  ctx.textBaseline = 'middle';
  ctx.fillText(title, 10, band / 2);
  ctx.drawImage(shot, 0, band);
  return new Promise((resolve) => canvas.toBlob((b) => resolve(b), 'image/png'));
}
