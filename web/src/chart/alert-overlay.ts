import { createSeriesMarkers, LineStyle, type IPriceLine, type ISeriesApi, type ISeriesMarkersPluginApi, type SeriesMarker, type SeriesType, type Time, type UTCTimestamp } from 'lightweight-charts';
import { alertMarker } from '../lib/alert-logic.js';
import type { Alert } from '../lib/types.js';
import { COLORS } from './theme.js';

/**
 * A chart's price alerts: each waiting alert of its pair as a dashed line at its level (with its
 * label on the price scale), and each fired one as a marker on the bar of the tick that fired it.
 */
export class AlertOverlay {
  private alerts: readonly Alert[] = [];
  private readonly lines = new Map<number, { line: IPriceLine; key: string }>();
  private markers: ISeriesMarkersPluginApi<Time> | null = null;
  private series: ISeriesApi<SeriesType>;

  constructor(series: ISeriesApi<SeriesType>) {
    this.series = series;
  }

  /** The price series was replaced (another chart type): lines and markers move to the new one. */
  rebind(series: ISeriesApi<SeriesType>): void {
    this.markers?.detach();
    this.markers = null;
    this.lines.clear(); // they went with the old series
    this.series = series;
  }

  /** The pair's alerts; `hasBar` says which bar times the chart holds, `tfSeconds` its timeframe. */
  set(alerts: readonly Alert[], tfSeconds: number, hasBar: (time: number) => boolean): void {
    this.alerts = alerts;
    const waiting = alerts.filter((a) => a.triggeredAt === null);
    const keep = new Set<number>();
    for (const a of waiting) {
      keep.add(a.id);
      const key = `${a.condition}:${a.price}`;
      const existing = this.lines.get(a.id);
      if (existing?.key === key) continue;
      if (existing) this.series.removePriceLine(existing.line);
      const line = this.series.createPriceLine({
        price: a.price,
        color: COLORS.alert,
        lineWidth: 1,
        lineStyle: LineStyle.Dashed,
        axisLabelVisible: true,
        title: a.condition === 'above' ? 'Alert ▲' : 'Alert ▼',
      });
      this.lines.set(a.id, { line, key });
    }
    for (const [id, { line }] of this.lines) {
      if (keep.has(id)) continue;
      this.series.removePriceLine(line);
      this.lines.delete(id);
    }
    this.placeMarkers(tfSeconds, hasBar);
  }

  /** The bars changed (a new timeframe, history loaded): markers go where their bars are now. */
  placeMarkers(tfSeconds: number, hasBar: (time: number) => boolean): void {
    const markers: SeriesMarker<Time>[] = [];
    for (const a of this.alerts) {
      const m = alertMarker(a, tfSeconds);
      if (!m || !hasBar(m.time)) continue;
      markers.push({
        id: `alert-${a.id}`,
        time: m.time as UTCTimestamp,
        position: 'atPriceMiddle',
        price: m.price,
        shape: a.condition === 'above' ? 'arrowUp' : 'arrowDown',
        color: COLORS.alert,
        text: `Alert ${a.condition === 'above' ? '▲' : '▼'} ${a.price}`,
        size: 1.4,
      });
    }
    markers.sort((x, y) => (x.time as number) - (y.time as number));
    if (markers.length === 0 && !this.markers) return;
    this.markers ??= createSeriesMarkers(this.series, []);
    this.markers.setMarkers(markers);
  }

  /** What is drawn (for tests and the page's inspection). */
  shown(): { lines: number[]; markers: readonly SeriesMarker<Time>[] } {
    return { lines: [...this.lines.keys()], markers: this.markers?.markers() ?? [] };
  }
}
