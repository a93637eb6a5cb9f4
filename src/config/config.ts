import { hostname } from 'node:os';
import { ConfigError } from '../core/errors.js';
import { pairProblem } from '../core/pair.js';

export type FeedConfig = { kind: 'simulated' } | { kind: 'none' } | { kind: 'ws'; url: string };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting QuFLX reads from the environment, checked once at start-up. */
export interface Config {
  port: number;
  host: string;
  /** Unset: start an embedded Redis (redis-server on PATH, else the in-process emulation). */
  redisUrl: string | undefined;
  /** Unset: start the embedded PostgreSQL under ./.data/pg. */
  databaseUrl: string | undefined;
  feed: FeedConfig;
  assets: string[];
  ticksPerMinute: number;
  batchIntervalMs: number;
  tickBufferSize: number;
  candleCacheSize: number;
  candleCacheTtlS: number;
  ingestToken: string | undefined;
  logLevel: LogLevel;
  /** Folder for the embedded servers' data. */
  dataDir: string;
  /** Prefix for every Redis key and channel, so several deployments can share one Redis. */
  keyPrefix: string;
  /** This process's consumer name in the persist queue's group: stable across restarts, distinct per process. */
  persistConsumer: string;
  /** Ticks older than this many days are dropped (whole days at a time); null: kept for good. */
  tickRetentionDays: number | null;
}

export const DEFAULT_ASSETS = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc'];
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/** Reads and checks the whole configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
      problems.push(`${name}=${JSON.stringify(raw)}: must be a whole number`);
      return fallback;
    }
    if (n < min || n > max) {
      problems.push(`${name}=${raw}: must be between ${min} and ${max}`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) {
        problems.push(`${name}: must be a ${protocols.map((p) => p + '//').join(' or ')} URL, got ${u.protocol}//`);
      }
    } catch {
      problems.push(`${name}: not a valid URL`);
    }
    return raw;
  };

  const port = int('PORT', 3000, 0, 65_535);
  const host = str('HOST') ?? '127.0.0.1';
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);

  let feed: FeedConfig = { kind: 'simulated' };
  const feedRaw = str('FEED');
  if (feedRaw !== undefined) {
    if (feedRaw === 'simulated' || feedRaw === 'none') feed = { kind: feedRaw };
    else if (/^wss?:\/\//i.test(feedRaw)) {
      try {
        new URL(feedRaw);
        feed = { kind: 'ws', url: feedRaw };
      } catch {
        problems.push(`FEED: ${JSON.stringify(feedRaw)} is not a valid URL`);
      }
    } else problems.push(`FEED=${JSON.stringify(feedRaw)}: must be "simulated", "none" or a ws:// / wss:// URL`);
  }

  let assets = DEFAULT_ASSETS;
  const assetsRaw = str('ASSETS');
  if (assetsRaw !== undefined) {
    assets = [...new Set(assetsRaw.split(',').map((a) => a.trim()).filter((a) => a !== ''))];
    if (assets.length === 0) problems.push('ASSETS: must name at least one pair');
    for (const a of assets) {
      const problem = pairProblem(a);
      if (problem) problems.push(`ASSETS: pair ${JSON.stringify(a)} ${problem}`);
    }
  }

  const logLevel = (str('LOG_LEVEL') ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${logLevel}: must be one of ${LOG_LEVELS.join(', ')}`);

  const config: Config = {
    port,
    host,
    redisUrl,
    databaseUrl,
    feed,
    assets,
    ticksPerMinute: int('TICKS_PER_MINUTE', 1000, 1, 600_000),
    batchIntervalMs: int('BATCH_INTERVAL_MS', 30_000, 10, 3_600_000),
    tickBufferSize: int('TICK_BUFFER_SIZE', 1000, 1, 1_000_000),
    candleCacheSize: int('CANDLE_CACHE_SIZE', 200, 1, 5000),
    candleCacheTtlS: int('CANDLE_CACHE_TTL_S', 3600, 1, 30 * 86_400),
    ingestToken: str('INGEST_TOKEN'),
    logLevel,
    dataDir: str('QUFLX_DATA_DIR') ?? '.data',
    keyPrefix: str('REDIS_KEY_PREFIX') ?? '',
    persistConsumer: str('PERSIST_CONSUMER') ?? `${hostname()}-${port}`,
    tickRetentionDays: str('TICK_RETENTION_DAYS') === undefined ? null : int('TICK_RETENTION_DAYS', 1, 1, 36_500),
  };
  if (!/^[\x21-\x7e]{1,100}$/.test(config.persistConsumer)) problems.push('PERSIST_CONSUMER: must be 1 to 100 printable characters without spaces');
  if (!/^[A-Za-z0-9:_.{}-]{0,64}$/.test(config.keyPrefix)) problems.push('REDIS_KEY_PREFIX: at most 64 of letters, digits and : _ . - { }');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
