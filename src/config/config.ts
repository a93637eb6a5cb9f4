import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { ConfigError } from '../core/errors.js';
import { pairProblem } from '../core/pair.js';
import { redisUrls } from '../redis/redis-urls.js';

export type FeedConfig =
  | { kind: 'simulated' }
  | { kind: 'none' }
  | { kind: 'ws'; url: string }
  /** Chrome's remote-debugging address; `urlFilter`: only pages whose URL contains it are read. */
  | { kind: 'cdp'; host: string; port: number; urlFilter: string | undefined };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting QuFLX reads from the environment, checked once at start-up. */
export interface Config {
  port: number;
  host: string;
  /** Unset: start an embedded Redis (redis-server on PATH, else the in-process emulation). A comma-separated list names Redis Cluster nodes. */
  redisUrl: string | undefined;
  /** PEM file of the CA behind a `rediss://` server's certificate; unset: the system's CAs. */
  redisTlsCa: string | undefined;
  /** A tick counts as accepted only once this many Redis replicas have it (WAIT); 0: do not wait. */
  redisWaitReplicas: number;
  /** Unset: start the embedded PostgreSQL under ./.data/pg. */
  databaseUrl: string | undefined;
  /** A database query with no answer in this long fails and is retried (client side). */
  databaseQueryTimeoutMs: number;
  feed: FeedConfig;
  assets: string[];
  ticksPerMinute: number;
  /** Hours of past ticks the simulator writes for a pair with no stored ticks (0: none). */
  simulatorHistoryHours: number;
  batchIntervalMs: number;
  tickBufferSize: number;
  candleCacheSize: number;
  candleCacheTtlS: number;
  ingestToken: string | undefined;
  /** When set, reads (GET /api/*, /metrics) and the Socket.IO handshake need this bearer token. */
  accessToken: string | undefined;
  /** Origins besides the page's own that may open Socket.IO (e.g. `https://desk.example.com`). */
  allowedOrigins: string[];
  logLevel: LogLevel;
  /** Folder for the embedded servers' data. */
  dataDir: string;
  /** Prefix for every Redis key and channel, so several deployments can share one Redis. */
  keyPrefix: string;
  /** This process's consumer name in the persist queue's group: stable across restarts, distinct per process. */
  persistConsumer: string;
  /** Most pairs (symbols) ever registered; a tick naming a new pair past it is refused. */
  maxPairs: number;
  /** Ticks older than this many days are dropped (whole days at a time); null: kept for good. */
  tickRetentionDays: number | null;
  /** Most price alerts stored (fired ones count until deleted). */
  maxAlerts: number;
  /** Largest body of POST /api/import (bytes); a bigger one is refused with a 413. */
  importMaxBytes: number;
  /** Worker processes on one port (node:cluster); 1: one process, no primary. */
  workers: number;
}

/** Most worker processes WORKERS takes (each holds its own Redis and database links). */
export const MAX_WORKERS = 64;

export const DEFAULT_ASSETS = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc'];
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/** `cdp://HOST:PORT` as host and port, or why it is not one. */
function parseCdpAddress(raw: string): { host: string; port: number } | string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a valid cdp://HOST:PORT address (PORT 1 to 65535)';
  }
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '' && u.pathname !== '/')) {
    return "must be only cdp://HOST:PORT (Chrome's --remote-debugging-port), with no path, query or user";
  }
  if (!u.hostname) return 'needs a HOST, e.g. cdp://127.0.0.1:9222';
  const port = Number(u.port);
  if (u.port === '' || port < 1) return "needs Chrome's remote-debugging PORT, e.g. cdp://127.0.0.1:9222";
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

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
  // One node, or a comma-separated list of a Redis Cluster's nodes (`redis://a:7000,redis://b:7001` or `redis://a:7000,b:7001`).
  const redisUrl = str('REDIS_URL');
  if (redisUrl !== undefined) {
    let nodes: string[] = [];
    try {
      nodes = redisUrls(redisUrl);
    } catch {
      problems.push('REDIS_URL: not a valid URL');
    }
    for (const node of nodes) {
      let u: URL | null = null;
      try {
        u = new URL(node);
      } catch {
        problems.push(`REDIS_URL: ${JSON.stringify(node)} is not a valid URL`);
      }
      if (u && u.protocol !== 'redis:' && u.protocol !== 'rediss:') problems.push(`REDIS_URL: must be a redis:// or rediss:// URL, got ${u.protocol}//`);
      // The path selects the database (`redis://host:6379/5`); key names and channels depend on it.
      if (u && !/^\/?(\d{1,5})?$/.test(u.pathname)) problems.push('REDIS_URL: the path must be a database number, like redis://127.0.0.1:6379/5');
    }
    if (nodes.length > 1 && nodes.some((n) => safePath(n).length > 1 && safePath(n) !== '/0')) problems.push('REDIS_URL: a Redis Cluster has only database 0; drop the /<db> path');
  }
  const redisTlsCa = str('REDIS_TLS_CA');
  if (redisTlsCa !== undefined && !isReadableFile(redisTlsCa)) problems.push(`REDIS_TLS_CA: ${JSON.stringify(redisTlsCa)} is not a readable file (the PEM of the CA that signed the Redis server's certificate)`);
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
    } else if (/^cdp:\/\//i.test(feedRaw)) {
      const cdp = parseCdpAddress(feedRaw);
      if (typeof cdp === 'string') problems.push(`FEED=${JSON.stringify(feedRaw)}: ${cdp}`);
      else feed = { kind: 'cdp', ...cdp, urlFilter: undefined };
    } else problems.push(`FEED=${JSON.stringify(feedRaw)}: must be "simulated", "none", a ws:// / wss:// URL or cdp://HOST:PORT`);
  }
  const urlFilter = str('CDP_URL_FILTER');
  if (urlFilter !== undefined) {
    if (urlFilter.length > 500 || /[\u0000-\u001f\u007f]/.test(urlFilter)) {
      problems.push('CDP_URL_FILTER: must be at most 500 characters, without control characters');
    } else if (feed.kind === 'cdp') feed.urlFilter = urlFilter;
    else if (!(feedRaw !== undefined && /^cdp:\/\//i.test(feedRaw))) {
      problems.push('CDP_URL_FILTER: only used with FEED=cdp://HOST:PORT (it picks which Chrome pages are read)');
    }
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

  const allowedOrigins: string[] = [];
  for (const raw of (str('ALLOWED_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '')) {
    const problem = originProblem(raw);
    if (problem) problems.push(`ALLOWED_ORIGINS: ${JSON.stringify(raw)} ${problem}`);
    else allowedOrigins.push(new URL(raw).origin);
  }

  // `auto`: one worker per core this process may use.
  let workers = 1;
  const workersRaw = str('WORKERS');
  if (workersRaw?.toLowerCase() === 'auto') workers = Math.min(MAX_WORKERS, availableParallelism());
  else if (workersRaw !== undefined) {
    const n = Number(workersRaw);
    if (/^\d+$/.test(workersRaw) && n >= 1 && n <= MAX_WORKERS) workers = n;
    else problems.push(`WORKERS=${JSON.stringify(workersRaw)}: must be a whole number from 1 to ${MAX_WORKERS}, or auto (one per core)`);
  }

  const logLevel = (str('LOG_LEVEL') ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${logLevel}: must be one of ${LOG_LEVELS.join(', ')}`);

  const config: Config = {
    port,
    host,
    redisUrl,
    redisTlsCa,
    redisWaitReplicas: int('REDIS_WAIT_REPLICAS', 0, 0, 16),
    databaseUrl,
    databaseQueryTimeoutMs: int('DATABASE_QUERY_TIMEOUT_MS', 30_000, 100, 3_600_000),
    feed,
    assets,
    ticksPerMinute: int('TICKS_PER_MINUTE', 1000, 1, 600_000),
    simulatorHistoryHours: int('SIMULATOR_HISTORY_HOURS', 240, 0, 24 * 366),
    batchIntervalMs: int('BATCH_INTERVAL_MS', 30_000, 10, 3_600_000),
    tickBufferSize: int('TICK_BUFFER_SIZE', 1000, 1, 1_000_000),
    candleCacheSize: int('CANDLE_CACHE_SIZE', 200, 1, 5000),
    candleCacheTtlS: int('CANDLE_CACHE_TTL_S', 3600, 1, 30 * 86_400),
    ingestToken: str('INGEST_TOKEN'),
    accessToken: str('ACCESS_TOKEN'),
    allowedOrigins,
    logLevel,
    dataDir: str('QUFLX_DATA_DIR') ?? '.data',
    keyPrefix: str('REDIS_KEY_PREFIX') ?? '',
    persistConsumer: str('PERSIST_CONSUMER') ?? `${hostname()}-${port}`,
    maxPairs: int('MAX_PAIRS', 1000, 1, 100_000),
    tickRetentionDays: str('TICK_RETENTION_DAYS') === undefined ? null : int('TICK_RETENTION_DAYS', 1, 1, 36_500),
    maxAlerts: int('MAX_ALERTS', 1000, 1, 100_000),
    importMaxBytes: int('IMPORT_MAX_BYTES', 256 * 1024 * 1024, 1024, 64 * 1024 ** 3),
    workers,
  };
  if (!/^[\x21-\x7e]{1,100}$/.test(config.persistConsumer)) problems.push('PERSIST_CONSUMER: must be 1 to 100 printable characters without spaces');
  if (!/^[A-Za-z0-9:_.{}-]{0,64}$/.test(config.keyPrefix)) problems.push('REDIS_KEY_PREFIX: at most 64 of letters, digits and : _ . - { }');
  for (const name of ['INGEST_TOKEN', 'ACCESS_TOKEN']) {
    const token = str(name);
    if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) problems.push(`${name}: must be printable characters without spaces (it is sent in an HTTP header)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Why `raw` is not an origin as browsers send it (`scheme://host[:port]`, nothing after), or null. */
function originProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// origin';
  if (u.pathname !== '/' || u.search || u.hash || u.username || u.password) return `must be only scheme, host and port, like ${u.origin}`;
  return null;
}

function isReadableFile(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
