import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { ChartController, type ChartStatus } from '../chart/chart-controller.js';
import type { ChartType } from '../chart/chart-types.js';
import type { DrawingTool } from '../chart/drawing-layer.js';
import { TickChartController } from '../chart/tick-chart-controller.js';
import { useAlertCenter } from '../hooks/useAlerts.js';
import { useDataStream } from '../hooks/useDataStream.js';
import { useHistoricalCandles } from '../hooks/useHistoricalCandles.js';
import type { HistoryState } from '../hooks/usePagedHistory.js';
import { useConnection, useStreamClient } from '../hooks/useStreamClient.js';
import { useTickHistory } from '../hooks/useTickHistory.js';
import { useTimeZone } from '../hooks/useTimeZone.js';
import { choiceSignature, type IndicatorChoice } from '../lib/indicators.js';
import { registry } from '../lib/registry.js';
import type { ChartTimeframe } from '../lib/timeframes.js';
import { ChartMessage } from './ChartMessage.js';

export interface ChartViewProps {
  id: string;
  pair: string | null;
  timeframe: ChartTimeframe;
  indicators: readonly IndicatorChoice[];
  compact?: boolean;
  /** Where the history came from, reported up to the status bar. */
  onHistory?: (state: HistoryState) => void;
  /** What to show while there is no pair to chart (the pair list loading, no pairs, ...). */
  noPair?: { kind: 'loading' | 'empty' | 'error'; title: string; detail?: string };
  chartType?: ChartType;
  /** What a press on the chart does (candle charts). */
  tool?: DrawingTool;
  /** What the chart tells the page: it came or went, a tool was used, a drawing selected, ... */
  events?: ChartEvents;
  children?: ReactNode;
}

export interface ChartEvents {
  onChart?: (id: string, chart: ChartController | TickChartController | null) => void;
  /** A tool placed what it places: the page goes back to the cursor. */
  onToolDone?: () => void;
  onSelectDrawing?: (id: string, drawing: string | null) => void;
  /** The alert tool was pressed at a price. */
  onAlertAt?: (pair: string, price: number) => void;
  onContextMenu?: (id: string, pair: string, at: { clientX: number; clientY: number; price: number }) => void;
}

type Kind = 'candles' | 'tick';

/**
 * One chart: the Lightweight Charts canvas, its legend, and its loading / empty / error states.
 * Candles of a timeframe, or (`tick`) a line through every tick.
 */
export function ChartView({ id, pair, timeframe, indicators, compact = false, onHistory, noPair, chartType = 'candles', tool = 'cursor', events, children }: ChartViewProps) {
  const client = useStreamClient();
  const alertCenter = useAlertCenter();
  const eventsRef = useRef(events);
  eventsRef.current = events;
  const chartTypeRef = useRef(chartType);
  chartTypeRef.current = chartType;
  const pairRef = useRef(pair);
  pairRef.current = pair;
  const { zone } = useTimeZone();
  const hostRef = useRef<HTMLDivElement>(null);
  const legendRef = useRef<HTMLDivElement>(null);
  const kind: Kind = timeframe === 'tick' ? 'tick' : 'candles';
  const [charts, setCharts] = useState<{ candles: ChartController | null; tick: TickChartController | null }>({ candles: null, tick: null });
  const zoneRef = useRef(zone);
  zoneRef.current = zone;

  useLayoutEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    // The library's attribution logo: on the main chart, or the first chart of a grid.
    const attribution = !compact || id === 'grid-0';
    const c =
      kind === 'tick'
        ? new TickChartController(host, legendRef.current, client, compact, attribution, zoneRef.current)
        : new ChartController(host, legendRef.current, client, { compact, attribution, zone: zoneRef.current, chartType: chartTypeRef.current });
    if (c instanceof ChartController) {
      c.drawings.onToolDone = () => eventsRef.current?.onToolDone?.();
      c.drawings.onSelect = (drawing) => eventsRef.current?.onSelectDrawing?.(id, drawing);
      c.drawings.onAlertAt = (price) => pairRef.current && eventsRef.current?.onAlertAt?.(pairRef.current, price);
      c.drawings.onContextMenu = (at) => pairRef.current && eventsRef.current?.onContextMenu?.(id, pairRef.current, at);
    }
    registry.charts.set(id, c);
    eventsRef.current?.onChart?.(id, c);
    setCharts(c instanceof TickChartController ? { candles: null, tick: c } : { candles: c, tick: null });
    let raf = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(() => c.placePaneLegends());
    });
    observer.observe(host);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(raf);
      if (registry.charts.get(id) === c) registry.charts.delete(id);
      eventsRef.current?.onChart?.(id, null);
      c.destroy();
      setCharts({ candles: null, tick: null });
    };
  }, [client, compact, id, kind]);

  const controller = charts.candles ?? charts.tick;
  useEffect(() => controller?.setTimeZone(zone), [controller, zone]);
  useEffect(() => charts.candles?.setChartType(chartType), [charts.candles, chartType]);
  useEffect(() => charts.candles?.drawings.setTool(tool), [charts.candles, tool]);
  // The price alerts: lines and markers on the chart of their pair.
  useEffect(() => {
    const c = charts.candles;
    if (!c || !alertCenter) return;
    const apply = () => c.setAlerts(alertCenter.snapshot().alerts);
    apply();
    return alertCenter.subscribe(apply);
  }, [charts.candles, alertCenter]);

  const candleTf = timeframe === 'tick' ? null : timeframe;
  const status = useDataStream(client, charts.candles ?? charts.tick, pair, candleTf, indicators);
  const candleHistory = useHistoricalCandles(charts.candles, kind === 'candles' ? pair : null, candleTf, indicators);
  const tickHistory = useTickHistory(charts.tick, kind === 'tick' ? pair : null);
  const history = kind === 'tick' ? tickHistory : candleHistory;
  const connection = useConnection(client);

  // Pane legends follow the panes when indicators come and go.
  const indicatorIds = indicators.map(choiceSignature).join(',');
  useEffect(() => {
    if (!controller) return;
    const raf = requestAnimationFrame(() => controller.placePaneLegends());
    return () => cancelAnimationFrame(raf);
  }, [controller, indicatorIds, status.bars > 0]);

  const { status: historyStatus, source, error: historyError, loadingOlder, exhausted } = history;
  useEffect(() => {
    onHistory?.({ status: historyStatus, source, error: historyError, loadingOlder, exhausted });
  }, [onHistory, historyStatus, source, historyError, loadingOlder, exhausted]);

  const down = connection.state !== 'live';
  const label = timeframe === 'tick' ? 'Tick' : timeframe;
  const message = chartMessage({ pair, label, status, history, down, compact, noPair });

  return (
    <div
      className={`chart-view${compact ? ' compact' : ''}${down && status.bars > 0 ? ' stale' : ''}`}
      data-chart={id}
      data-pair={pair ?? ''}
      data-timeframe={timeframe}
      data-chart-type={kind === 'tick' ? 'tick' : chartType}
      data-state={message ? message.kind : status.live ? 'live' : 'history'}
    >
      <div className="chart-host" ref={hostRef} />
      <div className="legend" ref={legendRef} />
      {children}
      {message && <ChartMessage {...message} />}
      {status.bars > 0 && historyStatus === 'error' && !compact && (
        <div className="chart-chip warn" role="status">
          History unavailable: {historyError}{' '}
          <button type="button" className="link" onClick={history.retry}>
            Retry
          </button>
        </div>
      )}
      {loadingOlder && <div className="chart-chip">Loading older {timeframe === 'tick' ? 'ticks' : 'bars'}…</div>}
      {down && status.bars > 0 && (
        <div className="chart-banner" role="status">
          <span className="dot" aria-hidden="true" />
          {connection.state === 'connecting' ? 'Connecting…' : 'Connection lost: reconnecting. The chart resumes where it left off.'}
        </div>
      )}
    </div>
  );
}

/**
 * The message over a chart with nothing to draw; null once it has bars. Every state leads out of
 * loading: history in (or refused), the live snapshot in, or the link down.
 */
function chartMessage(a: {
  pair: string | null;
  label: string;
  status: ChartStatus;
  history: HistoryState & { retry: () => void };
  down: boolean;
  compact: boolean;
  noPair: ChartViewProps['noPair'];
}): Parameters<typeof ChartMessage>[0] | null {
  const { pair, status, history, compact } = a;
  if (!pair) return a.noPair ?? { kind: 'empty', title: 'No pair selected', detail: 'Pick a pair from the list.' };
  if (status.error) return { kind: 'error', title: `Live data for ${pair} refused`, detail: status.error };
  if (status.bars > 0) return null;
  if (history.status === 'error' && !status.live) {
    return { kind: 'error', title: 'Could not load the history', detail: history.error ?? undefined, action: { label: 'Retry', onClick: history.retry } };
  }
  if (!status.live && history.status !== 'ready') return { kind: 'loading', title: `Loading ${pair} · ${a.label}`, compact };
  if (a.down) return { kind: 'loading', title: 'Waiting for the connection', compact };
  return { kind: 'empty', title: `No ticks for ${pair} yet`, detail: 'The chart starts with the first tick the feed sends.' };
}
