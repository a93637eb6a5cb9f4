/**
 * The Socket.IO and HTTP contract, from the server's shared event map. Type-only: nothing of the
 * server ends up in the bundle.
 */
export type {
  Candle,
  CandleEvent,
  ClientToServerEvents,
  IndicatorRequest,
  IndicatorValue,
  SeqTick,
  ServerToClientEvents,
  SubscribeAck,
  SubscribeRequest,
} from '../../../src/shared/events.js';

import type { SubscribeAck } from '../../../src/shared/events.js';

export type SubscribeOk = Extract<SubscribeAck, { ok: true }>;

/** GET /api/candles */
export interface CandlesResponse {
  pair: string;
  timeframe: string;
  source: 'cache' | 'database';
  candles: import('../../../src/shared/events.js').Candle[];
}

/** GET /api/indicators */
export interface IndicatorsResponse {
  name: string;
  values: { time: number; value: import('../../../src/shared/events.js').IndicatorValue }[];
}

/** GET /api/assets */
export interface Asset {
  pair: string;
  price: number;
  timestamp: number;
}
