/**
 * The HTTP API's answers, as the server sends them and the browser app reads them. Types only.
 */
import type { PairHealth } from '../core/feed-health.js';
import type { Tick } from '../core/tick.js';
import type { Candle, IndicatorValue, SeqTick } from './events.js';

export type { PairHealth };

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
 * GET /api/ticks?pair=&limit=: the recent ticks, oldest first, with their seq. With `before`
 * (epoch ms): the stored ticks before that time, oldest first, with the feed's `id` where it gave
 * one (the database keeps no seq).
 */
export type TicksResponse = SeqTick[];
export type StoredTicksResponse = Tick[];

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
  /** The feed and feed health; absent only where a server has no feed watch. */
  feed?: FeedReport;
}

/** The `feed` section of GET /health. */
export interface FeedReport {
  /** FEED's kind. */
  kind: 'simulated' | 'none' | 'ws' | 'cdp';
  /** `up` while the feed is connected or attached; `off` with FEED=none. */
  status: 'up' | 'down' | 'off';
  /** Every pair heard from since start (all sources), with the age of its last tick. */
  pairs: PairHealth[];
  /** Pairs silent for much longer than their usual gap. */
  stale: string[];
  /** Pairs with a recent price jump far outside their usual moves (kept, flagged). */
  suspect: string[];
  /** Details of the feed's link (for Chrome: the browser, pages, sockets, frames). */
  [detail: string]: unknown;
}
