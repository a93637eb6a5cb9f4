import type { HistoryState } from '../hooks/usePagedHistory.js';
import { splitPair } from '../lib/format.js';
import type { IndicatorChoice } from '../lib/indicators.js';
import type { ChartTimeframe } from '../lib/timeframes.js';
import type { Asset } from '../lib/types.js';
import type { ChartType } from '../chart/chart-types.js';
import type { DrawingTool } from '../chart/drawing-layer.js';
import { ChartView, type ChartEvents } from './ChartView.js';

export interface MultiPaneChartProps {
  pairs: readonly string[];
  assets: readonly Asset[];
  timeframe: ChartTimeframe;
  indicators: readonly IndicatorChoice[];
  focused: number;
  onFocus: (cell: number) => void;
  onPairChange: (cell: number, pair: string) => void;
  onHistory?: (state: HistoryState) => void;
  chartType?: ChartType;
  tool?: DrawingTool;
  events?: ChartEvents;
}

/** 2 to 4 pairs side by side, one timeframe, overlays only (oscillators need the room of one chart). */
export function MultiPaneChart({ pairs, assets, timeframe, indicators, focused, onFocus, onPairChange, onHistory, chartType, tool, events }: MultiPaneChartProps) {
  const overlays = indicators.filter((c) => c.placement === 'overlay');
  return (
    <div className={`grid grid-${pairs.length}`}>
      {pairs.map((pair, i) => (
        <section key={i} className={`grid-cell${i === focused ? ' focused' : ''}`} onMouseDown={() => onFocus(i)} aria-label={`Chart ${i + 1}: ${pair}`}>
          <header className="cell-head">
            <select
              value={pair}
              aria-label={`Pair of chart ${i + 1}`}
              onChange={(e) => onPairChange(i, e.target.value)}
              data-cell={i}
            >
              {assets.map((a) => (
                <option key={a.pair} value={a.pair}>
                  {splitPair(a.pair).base}
                  {splitPair(a.pair).otc ? ' (OTC)' : ''}
                </option>
              ))}
              {!assets.some((a) => a.pair === pair) && <option value={pair}>{pair}</option>}
            </select>
            <span className="cell-tf">{timeframe === 'tick' ? 'tick' : timeframe.toLowerCase()}</span>
          </header>
          <ChartView
            id={`grid-${i}`}
            pair={pair}
            timeframe={timeframe}
            indicators={overlays}
            compact
            onHistory={i === 0 ? onHistory : undefined}
            chartType={chartType}
            tool={i === focused ? tool : 'cursor'}
            events={events}
          />
        </section>
      ))}
    </div>
  );
}
