import { useCallback, useEffect, useMemo, useState } from 'react';
import { ChartView } from './components/ChartView.js';
import { MultiPaneChart } from './components/MultiPaneChart.js';
import { PairHeader } from './components/PairHeader.js';
import { PairList } from './components/PairList.js';
import { StatusBar } from './components/StatusBar.js';
import { IndicatorMenu, LayoutSwitch, TimeframeSwitcher } from './components/Toolbar.js';
import { useAssets, useDayOpens } from './hooks/useAssets.js';
import { useHealth } from './hooks/useHealth.js';
import type { HistoryState } from './hooks/useHistoricalCandles.js';
import { useStoredState } from './hooks/useStoredState.js';
import { StreamClientContext, useConnection, useStreamClient } from './hooks/useStreamClient.js';
import { TimeZoneContext } from './hooks/useTimeZone.js';
import { useView } from './hooks/useView.js';
import { DEFAULT_INDICATORS, indicatorChoice, type IndicatorChoice } from './lib/indicators.js';
import type { StreamClient } from './lib/stream-client.js';
import { isTimeZoneChoice, type TimeZoneChoice } from './lib/time-zone.js';

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

export function App({ client }: { client: StreamClient | null }) {
  return (
    <StreamClientContext.Provider value={client}>
      <Terminal />
    </StreamClientContext.Provider>
  );
}

function Terminal() {
  const [zone, setZone] = useStoredState<TimeZoneChoice>('quflx.timezone', 'utc', isTimeZoneChoice);
  const zoneContext = useMemo(() => ({ zone, setZone }), [zone, setZone]);
  const connection = useConnection(useStreamClient());
  // HTTP polls wait while the server is known to be away (no console full of refusals).
  const away = connection.state === 'reconnecting' || connection.state === 'offline';
  const { assets, status: assetsStatus, error: assetsError } = useAssets({ paused: away });
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
  const [storedGrid, setGridPairs] = useStoredState<string[]>('quflx.grid', [], isStringArray);
  const [focused, setFocused] = useState(0);
  const [history, setHistory] = useState<HistoryState | null>(null);

  // The linked or stored pair if the server knows it, else the first pair.
  const pair = view.pair && (pairs.includes(view.pair) || pairs.length === 0) ? view.pair : (pairs[0] ?? null);
  // The URL names the pair on screen (without a new history entry).
  useEffect(() => {
    if (pair) setView({ pair }, { replace: true }); // also spells a link's `tf=5s` as `tf=5S`
  }, [pair, view.pair, view.tf, view.layout, setView]);
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
    () => indicatorIds.map(indicatorChoice).filter((c): c is IndicatorChoice => c !== undefined),
    [indicatorIds],
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
          <IndicatorMenu selected={indicatorIds} onChange={setIndicatorIds} />
          <LayoutSwitch value={layout} onChange={setLayout} />
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
      <main className="workspace">
        {grid ? (
          <MultiPaneChart
            pairs={gridPairs}
            assets={assets}
            timeframe={timeframe}
            indicators={indicators}
            focused={focused}
            onFocus={setFocused}
            onPairChange={setCellPair}
            onHistory={setHistory}
          />
        ) : (
          <ChartView
            id="main"
            pair={pair}
            timeframe={timeframe}
            indicators={indicators}
            onHistory={setHistory}
            noPair={
              assetsStatus === 'loading'
                ? { kind: 'loading', title: 'Loading the market' }
                : assetsStatus === 'error'
                  ? { kind: 'error', title: 'QuFLX is not reachable', detail: `${assetsError ?? 'No answer'}. Retrying…` }
                  : { kind: 'empty', title: 'No pairs yet', detail: 'Charts appear with the first ticks: start the simulator (FEED=simulated) or POST ticks to /api/ticks.' }
            }
          />
        )}
      </main>
      <StatusBar history={history} health={health} pairs={assets.length} />
    </div>
    </TimeZoneContext.Provider>
  );
}
