import type { Socket } from 'socket.io-client';
import type { CandleEvent, ClientToServerEvents, IndicatorRequest, SeqTick, ServerToClientEvents, SubscribeOk } from '../types.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts since the link was last up. */
  attempt: number;
  /** When the next attempt is due (epoch ms), while waiting. */
  retryAt: number | null;
  /** Why the link is down, for the status bar. */
  reason: string | null;
}

/** Live candles (and the indicators riding along) a watcher wants for its pair. */
export interface Demand {
  timeframe: string;
  indicators: IndicatorRequest[];
}

export type StreamItem =
  | { kind: 'ticks'; ticks: SeqTick[] }
  | { kind: 'candle'; event: CandleEvent }
  /** A (fresh) subscribe snapshot; `resync` after a reconnect or a mismatch in seq. */
  | { kind: 'snapshot'; ack: SubscribeOk; resync: boolean }
  /** Ticks between these timestamps (ms) were stepped over: a hole in seq the backfill could not fill. */
  | { kind: 'gap'; fromMs: number; toMs: number }
  | { kind: 'error'; error: string };

export interface Watcher {
  /** Live candles wanted for the pair; null: ticks only. */
  readonly demand: Demand | null;
  /**
   * What arrived for the pair, in order, handed over as it arrives: a chart calls
   * `series.update()` at once, and Lightweight Charts draws every change of a frame in that frame.
   */
  onItems(items: readonly StreamItem[]): void;
}

export interface PairStats {
  price: number | null;
  /** The price before the latest, for an up/down flash. */
  prevPrice: number | null;
  timestamp: number | null;
  seq: number | null;
  /** Ticks per second over the last few seconds. */
  rate: number;
}
