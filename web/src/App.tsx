import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ChartController } from './chart/chart-controller.js';
import { isChartType, nextChartType, type ChartType } from './chart/chart-types.js';
import type { DrawingTool } from './chart/drawing-layer.js';
import { chartScreenshot } from './chart/screenshot.js';
import type { TickChartController } from './chart/tick-chart-controller.js';
import { AlertBanner, type BannerItem } from './components/AlertBanner.js';
import { AlertsMenu } from './components/AlertsMenu.js';
import { ChartContextMenu, type ContextMenuState } from './components/ChartContextMenu.js';
import { ChartTools } from './components/ChartTools.js';
import { ChartView, type ChartEvents } from './components/ChartView.js';
import { CsvMenu } from './components/CsvMenu.js';
import { MultiPaneChart } from './components/MultiPaneChart.js';
import { PairHeader } from './components/PairHeader.js';
import { PairList } from './components/PairList.js';
import { ShortcutHelp } from './components/ShortcutHelp.js';
import { StatusBar } from './components/StatusBar.js';
import { ChartTypeMenu, IndicatorMenu, LayoutSwitch, TimeframeSwitcher } from './components/Toolbar.js';
import { AlertCenterContext } from './hooks/useAlerts.js';
import { useAssets, useDayOpens } from './hooks/useAssets.js';
import { useHealth } from './hooks/useHealth.js';
import type { HistoryState } from './hooks/usePagedHistory.js';
import { useStoredState } from './hooks/useStoredState.js';
import { StreamClientContext, useConnection, useStreamClient } from './hooks/useStreamClient.js';
import { TimeZoneContext } from './hooks/useTimeZone.js';
import { useView } from './hooks/useView.js';
import type { AlertCenter } from './lib/alert-center.js';
import { conditionFor, describeAlert } from './lib/alert-logic.js';
import { AlertNotifier } from './lib/alert-notifier.js';
import { downloadExport } from './lib/csv-transfer.js';
import { fileSafe, fileStamp, saveBlob } from './lib/download.js';
import { formatPrice, pricePrecision } from './lib/format.js';
import { DEFAULT_INDICATORS, indicatorChoice, isIndicatorSettingsMap, type IndicatorChoice, type IndicatorSettings, type IndicatorSettingsMap } from './lib/indicators.js';
import { shortcutFor } from './lib/shortcuts.js';
import type { StreamClient } from './lib/stream-client.js';
import { formatDateTime, isTimeZoneChoice, zoneLabel, type TimeZoneChoice } from './lib/time-zone.js';
import { toSymbol } from '../../src/core/pair.js';

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
/** Banners kept on screen at once (the oldest go first). */
const MAX_BANNERS = 4;

export function App({ client, alerts = null }: { client: StreamClient | null; alerts?: AlertCenter | null }) {
  return (
    <StreamClientContext.Provider value={client}>
      <AlertCenterContext.Provider value={alerts}>
        <Terminal alerts={alerts} />
      </AlertCenterContext.Provider>
    </StreamClientContext.Provider>
  );
}

function Terminal({ alerts }: { alerts: AlertCenter | null }) {
  const client = useStreamClient();
  const [zone, setZone] = useStoredState<TimeZoneChoice>('quflx.timezone', 'utc', isTimeZoneChoice);
  const zoneContext = useMemo(() => ({ zone, setZone }), [zone, setZone]);
  const connection = useConnection(client);
  // HTTP polls wait while the server is known to be away (no console full of refusals).
  const away = connection.state === 'reconnecting' || connection.state === 'offline';
  const [assetsVersion, setAssetsVersion] = useState(0);
  const { assets, status: assetsStatus, error: assetsError } = useAssets({ paused: away, version: assetsVersion });
  const pairs = useMemo(() => assets.map((a) => a.pair), [assets]);
  const dayOpens = useDayOpens(pairs, zone, { paused: away });
  const health = useHealth({ paused: away });

  // Pair, timeframe (or tick) and layout live in the URL: links open them, back/forward move between them.
  const [view, setView] = useView();
  const { tf: timeframe, layout } = view;
  const setPair = useCallback((p: string) => setView({ pair: p }), [setView]);
  const setTimeframe = useCallback((tf: typeof timeframe) => setView({ tf }), [setView]);
  const setLayout = useCallback((n: typeof layout) => setView({ layout: n }), [setView]);
  const [indicatorIds, setIndicatorIds] = useStoredState<string[]>('quflx.indicators', [...DEFAULT_INDICATORS], isStringArray);
  const [indicatorSettings, setIndicatorSettings] = useStoredState<IndicatorSettingsMap>('quflx.indicatorSettings', {}, isIndicatorSettingsMap);
  const [chartType, setChartType] = useStoredState<ChartType>('quflx.chartType', 'candles', isChartType);
  const [storedGrid, setGridPairs] = useStoredState<string[]>('quflx.grid', [], isStringArray);
  const [focused, setFocused] = useState(0);
  const [history, setHistory] = useState<HistoryState | null>(null);
  const [tool, setTool] = useState<DrawingTool>('cursor');
  const [selectedDrawing, setSelectedDrawing] = useState<{ chart: string; id: string } | null>(null);
  const [contextMenu, setContextMenu] = useState<ContextMenuState | null>(null);
  const [banners, setBanners] = useState<BannerItem[]>([]);
  const [helpOpen, setHelpOpen] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  /** Bumped after a CSV import: the charts load their data again. */
  const [dataVersion, setDataVersion] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const charts = useRef(new Map<string, ChartController | TickChartController>());
  const workspaceRef = useRef<HTMLElement>(null);
  const notifier = useMemo(() => new AlertNotifier(), []);

  // A linked pair by any spelling: the instrument the server lists under its canonical name.
  const linked = view.pair && !pairs.includes(view.pair) ? (pairs.find((p) => toSymbol(p) === toSymbol(view.pair!)) ?? null) : view.pair;
  // The linked or stored pair if the server knows it, else the first pair.
  const pair = linked && (pairs.includes(linked) || pairs.length === 0) ? linked : (pairs[0] ?? null);
  // The URL names the pair on screen (without a new history entry).
  useEffect(() => {
    if (pair) setView({ pair }, { replace: true }); // also spells a link's `tf=5s` as `tf=5S`
  }, [pair, view.pair, view.tf, view.layout, setView]);
  // A subscribe answered under the instrument's canonical name: the page (and its URL) follow it.
  useEffect(() => {
    if (!client) return;
    return client.onRenamed((asked, canonical) => {
      if (view.pair === asked) setView({ pair: canonical }, { replace: true });
      setGridPairs((grid) => (grid.includes(asked) ? grid.map((p) => (p === asked ? canonical : p)) : grid));
    });
  }, [client, view.pair, setView, setGridPairs]);

  const gridPairs = useMemo(() => {
    // The linked pair is in the grid.
    const chosen = [...(pair && !storedGrid.includes(pair) ? [pair] : []), ...storedGrid].filter((p) => pairs.includes(p));
    const rest = [pair, ...pairs].filter((p): p is string => !!p && !chosen.includes(p));
    const out = [...chosen];
    while (out.length < layout && rest.length > 0) {
      const next = rest.shift()!;
      if (!out.includes(next)) out.push(next);
    }
    return out.slice(0, layout);
  }, [storedGrid, pairs, pair, layout]);

  const indicators = useMemo(
    () => indicatorIds.map((id) => indicatorChoice(id, indicatorSettings[id])).filter((c): c is IndicatorChoice => c !== undefined),
    [indicatorIds, indicatorSettings],
  );
  const setSettings = useCallback(
    (id: string, s: IndicatorSettings | null) =>
      setIndicatorSettings((all) => {
        const next = { ...all };
        if (s) next[id] = s;
        else delete next[id];
        return next;
      }),
    [setIndicatorSettings],
  );

  const select = useCallback(
    (p: string) => {
      setPair(p);
      if (layout <= 1) return;
      const existing = gridPairs.indexOf(p);
      if (existing >= 0) {
        setFocused(existing);
        return;
      }
      const next = [...gridPairs];
      next[Math.min(focused, next.length - 1)] = p;
      setGridPairs(next);
    },
    [layout, gridPairs, focused, setPair, setGridPairs],
  );

  const setCellPair = useCallback(
    (cell: number, p: string) => {
      const next = [...gridPairs];
      const other = next.indexOf(p);
      if (other >= 0 && other !== cell) next[other] = next[cell]!; // swap: a pair is shown once
      next[cell] = p;
      setGridPairs(next);
      setFocused(cell);
    },
    [gridPairs, setGridPairs],
  );

  useEffect(() => {
    if (focused >= layout) setFocused(0);
  }, [focused, layout]);

  const grid = layout > 1 && gridPairs.length > 1;
  const activeId = grid ? `grid-${focused}` : 'main';
  const activePair = grid ? (gridPairs[focused] ?? null) : pair;
  const activeChart = useCallback(() => charts.current.get(activeId) ?? null, [activeId]);
  const candleChart = useCallback(() => {
    const c = charts.current.get(activeId);
    return c instanceof ChartController ? c : null;
  }, [activeId]);

  // ---- alerts -------------------------------------------------------------------------------

  const zoneRef = useRef(zone);
  zoneRef.current = zone;
  useEffect(() => {
    if (!alerts) return;
    const off = alerts.onNews(({ alert, away: whileAway }) => {
      const zone = zoneRef.current;
      const digits = pricePrecision(alert.pair, alert.price);
      const key = `${alert.id}:${alert.triggeredAt}`;
      setBanners((b) => [...b.filter((x) => x.key !== key), { key, alert, away: whileAway }].slice(-MAX_BANNERS));
      if (!whileAway) {
        const at = alert.trigger ? `${formatPrice(alert.trigger.price, digits)} at ${formatDateTime(alert.trigger.timestamp, zone, 'seconds')} ${zoneLabel(zone)}` : '';
        notifier.notify(alert, `QuFLX alert: ${describeAlert(alert, digits)}`, [at, alert.note].filter(Boolean).join(' · '));
      }
    });
    void alerts.load();
    return off;
  }, [alerts, notifier]);

  // Any press readies the alert sound (browsers start audio only from a gesture).
  useEffect(() => {
    const prime = () => notifier.prime();
    document.addEventListener('pointerdown', prime, { once: true, capture: true });
    document.addEventListener('keydown', prime, { once: true, capture: true });
    return () => {
      document.removeEventListener('pointerdown', prime, { capture: true });
      document.removeEventListener('keydown', prime, { capture: true });
      notifier.close();
    };
  }, [notifier]);

  const flash = useCallback((text: string) => {
    setNotice(text);
  }, []);
  useEffect(() => {
    if (!notice) return;
    const id = setTimeout(() => setNotice(null), 3500);
    return () => clearTimeout(id);
  }, [notice]);

  /** From a user gesture (the alert tool, the chart menu): asking for notifications is allowed there. */
  const createAlertAt = useCallback(
    (alertPair: string, price: number) => {
      notifier.prime({ askPermission: true });
      if (!alerts) return;
      const last = client?.stats(alertPair).price ?? null;
      const digits = pricePrecision(alertPair, last ?? price);
      const level = Number(price.toFixed(digits));
      const condition = conditionFor(level, last);
      alerts.create({ pair: alertPair, condition, price: level }).then(
        (a) => flash(`Alert set: ${describeAlert(a, digits)}`),
        (err: Error) => flash(`Alert not set: ${err.message}`),
      );
    },
    [alerts, client, notifier, flash],
  );

  // ---- chart events -------------------------------------------------------------------------

  const chartEvents = useMemo<ChartEvents>(
    () => ({
      onChart: (id, c) => {
        if (c) charts.current.set(id, c);
        else charts.current.delete(id);
      },
      onToolDone: () => setTool('cursor'),
      onSelectDrawing: (chart, id) => setSelectedDrawing((s) => (id ? { chart, id } : s?.chart === chart ? null : s)),
      onAlertAt: (alertPair, price) => createAlertAt(alertPair, price),
      onContextMenu: (chart, menuPair, at) => {
        const c = charts.current.get(chart);
        setContextMenu({
          chart,
          pair: menuPair,
          ...at,
          lastPrice: client?.stats(menuPair).price ?? null,
          selected: c instanceof ChartController && c.drawings.selectedId !== null,
        });
      },
    }),
    [client, createAlertAt],
  );

  const deleteSelected = useCallback(() => {
    const c = selectedDrawing ? charts.current.get(selectedDrawing.chart) : null;
    if (c instanceof ChartController) c.drawings.deleteSelected();
    setSelectedDrawing(null);
  }, [selectedDrawing]);

  // ---- screenshot, fullscreen, CSV ----------------------------------------------------------

  const screenshot = useCallback(() => {
    const c = activeChart();
    if (!c || !activePair) return;
    const now = Date.now();
    const tfLabel = timeframe === 'tick' ? 'tick' : timeframe;
    const title = `${activePair} · ${tfLabel} · ${formatDateTime(now, zone, 'seconds')} ${zoneLabel(zone, now)}`;
    void chartScreenshot(c.chart, title).then((blob) => {
      if (!blob) return;
      saveBlob(blob, `quflx_${fileSafe(activePair)}_${tfLabel}_${fileStamp(now)}.png`);
      flash('Screenshot saved');
    });
  }, [activeChart, activePair, timeframe, zone, flash]);

  const toggleFullscreen = useCallback(() => {
    const el = workspaceRef.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void el.requestFullscreen?.().catch(() => flash('Fullscreen is not allowed here'));
  }, [flash]);
  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement !== null && document.fullscreenElement === workspaceRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const exportVisible = useCallback(async () => {
    const c = candleChart();
    const range = c?.visibleRange();
    if (!c || !activePair || !range) throw new Error('No bars on the chart to export');
    await downloadExport(activePair, range.fromMs, range.toMs);
  }, [candleChart, activePair]);

  const onImported = useCallback(() => {
    // The imported ticks are in the database and the candle caches were dropped: load again.
    setDataVersion((v) => v + 1);
    setAssetsVersion((v) => v + 1);
  }, []);

  // ---- keyboard -----------------------------------------------------------------------------

  const keyState = useRef({ pairs, pair: activePair, timeframe, chartType, tool });
  keyState.current = { pairs, pair: activePair, timeframe, chartType, tool };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const action = shortcutFor(e);
      if (!action) return;
      const st = keyState.current;
      switch (action.type) {
        case 'timeframe':
          setTimeframe(action.tf);
          break;
        case 'pair': {
          if (st.pairs.length === 0) return;
          const i = st.pair ? st.pairs.indexOf(st.pair) : -1;
          const next = st.pairs[(i + action.step + st.pairs.length) % st.pairs.length]!;
          select(next);
          break;
        }
        case 'tool':
          if (st.timeframe === 'tick') return;
          setTool((t) => (t === action.tool ? 'cursor' : action.tool));
          break;
        case 'cancel': {
          const c = candleChart();
          if (!c?.drawings.cancel() && st.tool === 'cursor') return; // Escape stays the popovers'
          setTool('cursor');
          break;
        }
        case 'delete':
          if (!selectedDrawing) return;
          deleteSelected();
          break;
        case 'chartType':
          if (st.timeframe === 'tick') return;
          setChartType(nextChartType(st.chartType));
          break;
        case 'fullscreen':
          toggleFullscreen();
          break;
        case 'screenshot':
          screenshot();
          break;
        case 'help':
          setHelpOpen((o) => !o);
          break;
      }
      e.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [setTimeframe, select, candleChart, selectedDrawing, deleteSelected, setChartType, toggleFullscreen, screenshot]);

  // The tick chart takes no drawings: a tool in hand goes back to the cursor.
  useEffect(() => {
    if (timeframe === 'tick') setTool('cursor');
  }, [timeframe]);

  const onHelpOpen = useCallback((o: boolean) => setHelpOpen(o), []);
  const tickChart = timeframe === 'tick';

  return (
    <TimeZoneContext.Provider value={zoneContext}>
      <div className="app">
        <header className="top-bar">
          <div className="brand" aria-label="QuFLX">
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <rect x="1" y="1" width="22" height="22" rx="5" fill="#131a24" stroke="#243042" />
              <path d="M5 16l4-5 3 2.5L19 6" fill="none" stroke="#26a69a" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
            <span>QuFLX</span>
          </div>
          {!grid && <PairHeader pair={pair} dayOpen={pair ? dayOpens[pair] : undefined} />}
          {grid && <div className="pair-header grid-title">{gridPairs.length} pairs</div>}
          <div className="tools">
            <TimeframeSwitcher value={timeframe} onChange={setTimeframe} />
            <div className="tool-group">
              <ChartTypeMenu value={chartType} onChange={setChartType} disabled={tickChart} />
              <IndicatorMenu selected={indicatorIds} onChange={setIndicatorIds} settings={indicatorSettings} onSettings={setSettings} />
              <AlertsMenu pair={activePair} onGesture={() => notifier.prime({ askPermission: true })} />
              <CsvMenu onImported={onImported} onExport={exportVisible} exportDisabled={tickChart} />
              <LayoutSwitch value={layout} onChange={setLayout} />
              <ShortcutHelp open={helpOpen} onOpenChange={onHelpOpen} />
            </div>
          </div>
        </header>
        <aside className="side">
          <PairList
            assets={assets}
            status={assetsStatus}
            error={assetsError}
            selected={grid ? (gridPairs[focused] ?? null) : pair}
            shown={grid ? gridPairs : []}
            dayOpens={dayOpens}
            feedFlags={health?.feed}
            onSelect={select}
          />
        </aside>
        <main className={`workspace${fullscreen ? ' fullscreen' : ''}`} ref={workspaceRef} data-tool={tool}>
          {grid ? (
            <MultiPaneChart
              key={dataVersion}
              pairs={gridPairs}
              assets={assets}
              timeframe={timeframe}
              indicators={indicators}
              focused={focused}
              onFocus={setFocused}
              onPairChange={setCellPair}
              onHistory={setHistory}
              chartType={chartType}
              tool={tool}
              events={chartEvents}
            />
          ) : (
            <ChartView
              key={dataVersion}
              id="main"
              pair={pair}
              timeframe={timeframe}
              indicators={indicators}
              onHistory={setHistory}
              chartType={chartType}
              tool={tool}
              events={chartEvents}
              noPair={
                assetsStatus === 'loading'
                  ? { kind: 'loading', title: 'Loading the market' }
                  : assetsStatus === 'error'
                    ? { kind: 'error', title: 'QuFLX is not reachable', detail: `${assetsError ?? 'No answer'}. Retrying…` }
                    : { kind: 'empty', title: 'No pairs yet', detail: 'Charts appear with the first ticks: start the simulator (FEED=simulated), POST ticks to /api/ticks, or import a CSV.' }
              }
            />
          )}
          <ChartTools
            tool={tool}
            onTool={setTool}
            selected={selectedDrawing !== null}
            onDelete={deleteSelected}
            onScreenshot={screenshot}
            fullscreen={fullscreen}
            onFullscreen={toggleFullscreen}
            drawingDisabled={tickChart}
          />
          <AlertBanner items={banners} onDismiss={(key) => setBanners((b) => b.filter((x) => x.key !== key))} />
          {notice && (
            <div className="toast" role="status">
              {notice}
            </div>
          )}
        </main>
        <StatusBar history={history} health={health} pairs={assets.length} />
        {contextMenu && (
          <ChartContextMenu
            state={contextMenu}
            onClose={() => setContextMenu(null)}
            onAlert={() => createAlertAt(contextMenu.pair, contextMenu.price)}
            onLevel={() => {
              const c = charts.current.get(contextMenu.chart);
              if (c instanceof ChartController) c.drawings.addLevel(contextMenu.price);
            }}
            onTrend={() => setTool('trend')}
            onDelete={() => {
              const c = charts.current.get(contextMenu.chart);
              if (c instanceof ChartController) c.drawings.deleteSelected();
            }}
          />
        )}
      </div>
    </TimeZoneContext.Provider>
  );
}
