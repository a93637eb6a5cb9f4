/**
 * The HTTP API's answers, as the server sends them and the browser app reads them. Types only.
 */
import type { PairHealth } from '../core/feed-health.js';
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

/** Which side of its level an alert watches: a tick at or above (`above`) or at or below (`below`) its price fires it. */
export type AlertCondition = 'above' | 'below';

/** POST /api/alerts: a price alert on a pair (any spelling; it is stored under the canonical name). */
export interface AlertRequest {
  pair: string;
  condition: AlertCondition;
  /** The level: a finite number > 0. */
  price: number;
  /** Free text shown with the alert (at most MAX_ALERT_NOTE_LENGTH characters); null or absent: none. */
  note?: string | null;
}

/** The tick that fired an alert. */
export interface AlertTrigger {
  price: number;
  /** The tick's own timestamp, epoch ms. */
  timestamp: number;
}

/**
 * An alert as POST /api/alerts (201) and GET /api/alerts answer it. Times are epoch ms. It fires
 * once, on the first accepted tick of its pair at or beyond its price whose timestamp is not
 * before `createdAt`; then `triggeredAt` (when it fired) and `trigger` (the tick) are set.
 */
export interface Alert {
  id: number;
  /** The instrument's canonical name (as given when no tick of it was ever accepted, until it fires). */
  pair: string;
  condition: AlertCondition;
  price: number;
  note: string | null;
  createdAt: number;
  triggeredAt: number | null;
  trigger: AlertTrigger | null;
}

/** GET /api/alerts: every alert, oldest first, fired ones included until deleted. */
export type AlertsResponse = Alert[];

/** POST /api/import (body text/csv): what was written. With `skipInvalid=true` the bad lines are skipped and listed. */
export interface ImportResponse {
  /** Ticks new to the database. */
  imported: number;
  /** Valid lines whose tick was stored already (an earlier import, the live feed, twice in the file). */
  duplicates: number;
  /** Invalid lines (skipped). */
  invalid: number;
  /** The first MAX_REPORTED_IMPORT_LINES invalid lines: `line 7: price must be ...`. */
  invalidLines: string[];
  /** Set when the ticks are in but something after failed (the candle cache could not be refreshed). */
  warning?: string;
}

/**
 * POST /api/import, 400: nothing was written. Either lines are invalid (`invalid` > 0, listed in
 * `invalidLines` and `details` with `index` = the line number, line 1 being the header), or the
 * body is not a tick CSV at all (no header, broken quoting, not UTF-8: `invalid` is 0).
 */
export interface ImportErrorResponse extends ErrorResponse {
  invalid: number;
  /** Valid lines in the file (not written, since some were invalid). */
  valid: number;
  invalidLines: string[];
}
