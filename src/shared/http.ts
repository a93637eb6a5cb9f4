/**
 * The HTTP API's answers, as the server sends them and the browser app reads them. Types only.
 */
import type { Candle, IndicatorValue, SeqTick } from './events.js';

/** Every error: a message for a person, and per-field details where a request was bad. */
export interface ErrorResponse {
  error: string;
  details?: { index: number; field: string; message: string }[];
}

/**
 * GET /api/candles?pair=&timeframe=&limit=&before=: candles oldest first. With `before` (epoch
 * seconds), the `limit` candles whose bucket opens before that time: fewer means the history ends.
 */
export interface CandlesResponse {
  pair: string;
  timeframe: string;
  source: 'cache' | 'database';
  candles: Candle[];
}

/** GET /api/indicators */
export interface IndicatorsResponse {
  name: string;
  pair: string;
  timeframe: string;
  params: Readonly<Record<string, number>>;
  values: { time: number; value: IndicatorValue }[];
}

/**
 * GET /api/ticks?pair=&limit=: the recent ticks, oldest first. With `before` (epoch ms): the stored
 * ticks before that time, oldest first (`seq` is null for ticks imported from CSV).
 */
export type TicksResponse = SeqTick[];
export type StoredTicksResponse = (Omit<SeqTick, 'seq'> & { seq: number | null })[];

/** GET /api/assets: the latest tick of every pair. */
export interface AssetResponse {
  pair: string;
  price: number;
  timestamp: number;
}

/** GET /health */
export interface HealthResponse {
  status: 'ok' | 'degraded';
  redis: { status: 'up' | 'down'; kind: 'external' | 'redis-server' | 'emulated' };
  database: { status: 'up' | 'down'; kind: 'external' | 'embedded' };
  persistence: { pending: number | null; lagMs: number | null; lastWriteAt: string | null };
}
