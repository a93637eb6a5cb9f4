import { useEffect, useState } from 'react';
import type { ChartController, ChartStatus } from '../chart/chart-controller.js';
import type { TickChartController } from '../chart/tick-chart-controller.js';
import { choiceSignature, type IndicatorChoice } from '../lib/indicators.js';
import type { StreamClient } from '../lib/stream-client.js';
import type { Timeframe } from '../lib/timeframes.js';

/**
 * Live data for one chart. The ticks and candle events never pass through React: the chart
 * controller watches the pair on the stream client, which hands it what arrives, and the
 * controller applies it with `series.update()`. React state here is only the chart's status
 * (empty or not, live or not, refused), which changes rarely. `timeframe` null: the tick chart.
 */
export function useDataStream(
  client: StreamClient | null,
  controller: ChartController | TickChartController | null,
  pair: string | null,
  timeframe: Timeframe | null,
  indicators: readonly IndicatorChoice[],
): ChartStatus {
  const [status, setStatus] = useState<ChartStatus>({ bars: 0, live: false, error: null });
  const indicatorIds = indicators.map(choiceSignature).join(',');

  useEffect(() => {
    if (!controller) return;
    controller.onStatus = (s) => setStatus({ ...s });
    return () => {
      controller.onStatus = null;
    };
  }, [controller]);

  useEffect(() => {
    if (!client || !controller || !pair) return;
    if ('setPair' in controller) controller.setPair(pair);
    else if (timeframe) controller.setContext(pair, timeframe, indicators);
    setStatus({ ...controller.getStatus() });
    return client.watch(pair, controller);
    // indicatorIds stands for `indicators`
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, controller, pair, timeframe, indicatorIds]);

  return status;
}
