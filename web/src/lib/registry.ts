import type { ChartController } from '../chart/chart-controller.js';
import type { TickChartController } from '../chart/tick-chart-controller.js';
import type { AlertCenter } from './alert-center.js';
import type { StreamClient } from './stream-client.js';

/**
 * What the page exposes for inspection (the end-to-end test reads it): the charts on screen by
 * id, and the stream client. Read-only use only.
 */
export interface QuflxDebug {
  charts: Map<string, ChartController | TickChartController>;
  client: StreamClient | null;
  alerts?: AlertCenter | null;
}

declare global {
  interface Window {
    __QUFLX__?: QuflxDebug;
  }
}

export const registry: QuflxDebug = { charts: new Map(), client: null };
if (typeof window !== 'undefined') window.__QUFLX__ = registry;
