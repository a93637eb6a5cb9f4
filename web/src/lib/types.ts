/**
 * The Socket.IO and HTTP contract, from the server's shared definitions (src/shared/). Type-only:
 * nothing of the server ends up in the bundle.
 */
export type {
  Candle,
  CandleEvent,
  ClientToServerEvents,
  FiredAlert,
  IndicatorRequest,
  IndicatorValue,
  SeqTick,
  ServerToClientEvents,
  SubscribeAck,
  SubscribeRequest,
} from '../../../src/shared/events.js';
export type {
  Alert,
  AlertCondition,
  AlertRequest,
  AlertsResponse,
  AlertTrigger,
  ImportErrorResponse,
  ImportResponse,
  AssetResponse,
  AssetResponse as Asset,
  CandlesResponse,
  HealthResponse,
  IndicatorsResponse,
  StoredTicksResponse,
  TicksResponse,
} from '../../../src/shared/http.js';

import type { SubscribeAck } from '../../../src/shared/events.js';

export type SubscribeOk = Extract<SubscribeAck, { ok: true }>;
