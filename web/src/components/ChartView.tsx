import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { ChartController } from '../chart/chart-controller.js';
import { useDataStream } from '../hooks/useDataStream.js';
import { useHistoricalCandles, type HistoryState } from '../hooks/useHistoricalCandles.js';
import { useConnection, useStreamClient } from '../hooks/useStreamClient.js';
import type { IndicatorChoice } from '../lib/indicators.js';
import { registry } from '../lib/registry.js';
import type { Timeframe } from '../lib/timeframes.js';
import { ChartMessage } from './ChartMessage.js';

export interface ChartViewProps {
  id: string;
  pair: string | null;
  timeframe: Timeframe;
  indicators: readonly IndicatorChoice[];
  compact?: boolean;
  /** Where the history came from, reported up to the status bar. */
  onHistory?: (state: HistoryState) => void;
  /** What to show while there is no pair to chart (the pair list loading, no pairs, ...). */
  noPair?: { kind: 'loading' | 'empty' | 'error'; title: string; detail?: string };
  children?: ReactNode;
}

/** One chart: the Lightweight Charts canvas, its legend, and its loading / empty / error states. */
export function ChartView({ id, pair, timeframe, indicators, compact = false, onHistory, noPair, children }: ChartViewProps) {
  const client = useStreamClient();
  const hostRef = useRef<HTMLDivElement>(null);
  const legendRef = useRef<HTMLDivElement>(null);
  const [controller, setController] = useState<ChartController | null>(null);

  useLayoutEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    // The library's attribution logo: on the main chart, or the first chart of a grid.
    const c = new ChartController(host, legendRef.current, client, compact, !compact || id === 'grid-0');
    registry.charts.set(id, c);
    setController(c);
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
      c.destroy();
      setController(null);
    };
  }, [client, compact, id]);

  const status = useDataStream(client, controller, pair, timeframe, indicators);
  const history = useHistoricalCandles(controller, pair, timeframe, indicators);
  const connection = useConnection(client);

  // Pane legends follow the panes when indicators come and go.
  const indicatorIds = indicators.map((c) => c.id).join(',');
  useEffect(() => {
    if (!controller) return;
    const raf = requestAnimationFrame(() => controller.placePaneLegends());
    return () => cancelAnimationFrame(raf);
  }, [controller, indicatorIds, status.bars > 0]);

  const { status: historyStatus, source, error: historyError, loadingOlder, exhausted } = history;
  useEffect(() => {
    onHistory?.({ status: historyStatus, source, error: historyError, loadingOlder, exhausted });
  }, [onHistory, historyStatus, source, historyError, loadingOlder, exhausted]);

  let message: ReactNode = null;
  const down = connection.state !== 'live';
  if (!pair) {
    message = noPair ? <ChartMessage {...noPair} /> : <ChartMessage kind="empty" title="No pair selected" detail="Pick a pair from the list." />;
  } else if (status.error) {
    message = <ChartMessage kind="error" title={`Live data for ${pair} refused`} detail={status.error} />;
  } else if (status.bars === 0) {
    if (historyStatus === 'error' && !status.live) {
      message = (
        <ChartMessage kind="error" title="Could not load the history" detail={historyError ?? undefined} action={{ label: 'Retry', onClick: history.retry }} />
      );
    } else if (!status.live && historyStatus !== 'ready') {
      message = <ChartMessage kind="loading" title={`Loading ${pair} · ${timeframe}`} compact={compact} />;
    } else if (down) {
      message = <ChartMessage kind="loading" title="Waiting for the connection" compact={compact} />;
    } else {
      message = <ChartMessage kind="empty" title={`No ticks for ${pair} yet`} detail="The chart starts with the first tick the feed sends." />;
    }
  }

  return (
    <div className={`chart-view${compact ? ' compact' : ''}${down && status.bars > 0 ? ' stale' : ''}`} data-chart={id} data-pair={pair ?? ''} data-timeframe={timeframe}>
      <div className="chart-host" ref={hostRef} />
      <div className="legend" ref={legendRef} />
      {children}
      {message}
      {status.bars > 0 && historyStatus === 'error' && !compact && (
        <div className="chart-chip warn" role="status">
          History unavailable: {historyError}{' '}
          <button type="button" className="link" onClick={history.retry}>
            Retry
          </button>
        </div>
      )}
      {loadingOlder && <div className="chart-chip">Loading older bars…</div>}
      {down && status.bars > 0 && (
        <div className="chart-banner" role="status">
          <span className="dot" aria-hidden="true" />
          {connection.state === 'connecting' ? 'Connecting…' : 'Connection lost: reconnecting. The chart resumes where it left off.'}
        </div>
      )}
    </div>
  );
}
