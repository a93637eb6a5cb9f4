/**
 * The Socket.IO contract, shared by the server and the browser app: one typed event map each way.
 * Types only; importing this file pulls in no server code.
 */
import type { SeqTick } from '../core/tick.js';
import type { Alert, AlertTrigger } from './http.js';

export type { SeqTick };

/** The `alert` event: an alert that just fired (sent once, to every client of every process). */
export type FiredAlert = Alert & { triggeredAt: number; trigger: AlertTrigger };

export interface Candle {
  /** Bucket open, epoch seconds (what Lightweight Charts takes). */
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Tick count. */
  volume: number;
}

/** An indicator and its parameters, as in GET /api/indicators (e.g. `{ name: 'rsi', period: 14 }`). */
export type IndicatorRequest = { name: string } & Record<string, string | number>;

export type IndicatorValue = number | Record<string, number>;

export interface SubscribeRequest {
  pair: string;
  /** Live candles of this timeframe (any case); without it, ticks only. */
  timeframe?: string;
  /** Indicators whose values ride along with the candle events (needs a timeframe). */
  indicators?: IndicatorRequest[];
}

export type SubscribeAck =
  | {
      ok: true;
      /** The instrument's canonical name (the first spelling seen of its symbol); the name asked for while it has no ticks. */
      pair: string;
      ticks: SeqTick[];
      candles: Candle[];
      seq: number;
      timeframe?: string;
      /** Per indicator key (e.g. `rsi(period=14)`): its values over `candles`, once warmed up. */
      indicators?: Record<string, { time: number; value: IndicatorValue }[]>;
    }
  /**
   * `retryAfterMs`: not refused but not answered now (the subscribe rate limit was hit, or Redis
   * or the database failed the reads); ask again after that long.
   */
  | { ok: false; error: string; retryAfterMs?: number };

export interface UnsubscribeRequest {
  pair: string;
}

export type UnsubscribeAck = { ok: true } | { ok: false; error: string };

export interface CandleEvent {
  pair: string;
  timeframe: string;
  candle: Candle;
  /** Indicator values at this candle, by key, when the subscribers asked for indicators. */
  indicators?: Record<string, IndicatorValue | null>;
}

export interface ServerToClientEvents {
  /** Ticks of one subscribed pair, in seq order, batched per event-loop turn. */
  ticks: (ticks: SeqTick[]) => void;
  candle: (event: CandleEvent) => void;
  /** A price alert fired (see POST /api/alerts); sent to every connected client, subscribed or not. */
  alert: (alert: FiredAlert) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (reply: SubscribeAck) => void) => void;
  unsubscribe: (request: UnsubscribeRequest, ack?: (reply: UnsubscribeAck) => void) => void;
}
