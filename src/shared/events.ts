/**
 * The Socket.IO contract, shared by the server and the browser app: one typed event map each way.
 * Types only; importing this file pulls in no server code.
 */
import type { SeqTick } from '../core/tick.js';

export type { SeqTick };

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

export interface SubscribeRequest {
  pair: string;
  timeframe?: string;
}

export type SubscribeAck =
  | { ok: true; pair: string; ticks: SeqTick[]; candles: Candle[]; seq: number; timeframe?: string }
  | { ok: false; error: string };

export interface UnsubscribeRequest {
  pair: string;
}

export type UnsubscribeAck = { ok: true } | { ok: false; error: string };

export interface CandleEvent {
  pair: string;
  timeframe: string;
  candle: Candle;
}

export interface ServerToClientEvents {
  /** Ticks of one subscribed pair, in seq order, batched per event-loop turn. */
  ticks: (ticks: SeqTick[]) => void;
  candle: (event: CandleEvent) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (reply: SubscribeAck) => void) => void;
  unsubscribe: (request: UnsubscribeRequest, ack?: (reply: UnsubscribeAck) => void) => void;
}
