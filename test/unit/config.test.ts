import { availableParallelism } from 'node:os';
import { describe, expect, test } from 'vitest';
import { DEFAULT_ASSETS, loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/core/errors.js';

/** The ConfigError loadConfig throws for `env`; fails the test when it accepts it. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults (DESIGN.md section 3)', () => {
  test('an empty environment gives every documented default', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.redisUrl).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
    expect(c.feed).toEqual({ kind: 'simulated' });
    expect(c.assets).toEqual(['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc']);
    expect(c.ticksPerMinute).toBe(1000);
    expect(c.simulatorHistoryHours).toBe(240);
    expect(c.batchIntervalMs).toBe(30_000);
    expect(c.tickBufferSize).toBe(1000);
    expect(c.candleCacheSize).toBe(200);
    expect(c.candleCacheTtlS).toBe(3600);
    expect(c.ingestToken).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.maxPairs).toBe(1000);
    expect(c.tickRetentionDays).toBeNull();
    expect(c.workers).toBe(1);
  });

  test('DEFAULT_ASSETS is the documented list', () => {
    expect(DEFAULT_ASSETS).toEqual(['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc']);
  });

  test('empty strings count as unset', () => {
    const c = loadConfig({ PORT: '', FEED: '', ASSETS: '', LOG_LEVEL: '', INGEST_TOKEN: '', REDIS_URL: '' });
    expect(c.port).toBe(3000);
    expect(c.feed).toEqual({ kind: 'simulated' });
    expect(c.assets).toEqual(['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc']);
    expect(c.logLevel).toBe('info');
    expect(c.ingestToken).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
  });

  test('does not read process.env when an env object is passed', () => {
    const saved = process.env.PORT;
    process.env.PORT = 'not-a-port';
    try {
      expect(loadConfig({}).port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe('loadConfig reads valid values', () => {
  test('WORKERS: a count from 1 to 64, or auto for one per core', () => {
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
    expect(loadConfig({ WORKERS: '4' }).workers).toBe(4);
    expect(loadConfig({ WORKERS: '64' }).workers).toBe(64);
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(Math.min(64, availableParallelism()));
    expect(loadConfig({ WORKERS: 'AUTO' }).workers).toBe(Math.min(64, availableParallelism()));
  });
  test('MAX_PAIRS, and a REDIS_URL naming a database', () => {
    expect(loadConfig({ MAX_PAIRS: '25' }).maxPairs).toBe(25);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/5' }).redisUrl).toBe('redis://127.0.0.1:6379/5');
  });
  test('Redis Cluster nodes, REDIS_WAIT_REPLICAS and REDIS_TLS_CA', () => {
    expect(loadConfig({ REDIS_URL: 'redis://a:7000,redis://b:7001' }).redisUrl).toBe('redis://a:7000,redis://b:7001');
    expect(loadConfig({}).redisWaitReplicas).toBe(0);
    expect(loadConfig({ REDIS_WAIT_REPLICAS: '2' }).redisWaitReplicas).toBe(2);
    expect(loadConfig({ REDIS_TLS_CA: 'package.json' }).redisTlsCa).toBe('package.json');
    expect(configError({ REDIS_URL: 'redis://a:7000/3,redis://b:7001' }).message).toContain('REDIS_URL: a Redis Cluster has only database 0');
    expect(configError({ REDIS_URL: 'redis://a:7000,http://b:7001' }).message).toContain('REDIS_URL: must be a redis:// or rediss:// URL, got http://');
    expect(configError({ REDIS_WAIT_REPLICAS: '-1' }).message).toContain('REDIS_WAIT_REPLICAS');
    expect(configError({ REDIS_WAIT_REPLICAS: 'all' }).message).toContain('REDIS_WAIT_REPLICAS');
    expect(configError({ REDIS_TLS_CA: '/no/such/ca.pem' }).message).toContain('REDIS_TLS_CA: "/no/such/ca.pem" is not a readable file');
    expect(configError({ REDIS_TLS_CA: 'src' }).message).toContain('REDIS_TLS_CA');
  });
  test('MAX_ALERTS and IMPORT_MAX_BYTES, and their defaults', () => {
    expect(loadConfig({}).maxAlerts).toBe(1000);
    expect(loadConfig({}).importMaxBytes).toBe(256 * 1024 * 1024);
    expect(loadConfig({ MAX_ALERTS: '5' }).maxAlerts).toBe(5);
    expect(loadConfig({ IMPORT_MAX_BYTES: '1048576' }).importMaxBytes).toBe(1_048_576);
  });
  test('numbers, URLs, token and log level', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:6380',
      DATABASE_URL: 'postgres://u@db:5432/quflx',
      TICKS_PER_MINUTE: '60',
      SIMULATOR_HISTORY_HOURS: '0',
      BATCH_INTERVAL_MS: '5000',
      TICK_BUFFER_SIZE: '500',
      CANDLE_CACHE_SIZE: '300',
      CANDLE_CACHE_TTL_S: '60',
      INGEST_TOKEN: 's3cret',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6380',
      databaseUrl: 'postgres://u@db:5432/quflx',
      ticksPerMinute: 60,
      simulatorHistoryHours: 0,
      batchIntervalMs: 5000,
      tickBufferSize: 500,
      candleCacheSize: 300,
      candleCacheTtlS: 60,
      ingestToken: 's3cret',
      logLevel: 'debug',
    });
  });

  test('PORT 0 (any free port) is allowed', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  test('rediss:// and postgresql:// URLs are accepted', () => {
    const c = loadConfig({ REDIS_URL: 'rediss://h:6380', DATABASE_URL: 'postgresql://u@h/db' });
    expect(c.redisUrl).toBe('rediss://h:6380');
    expect(c.databaseUrl).toBe('postgresql://u@h/db');
  });

  test('FEED none, simulated, ws:// and wss://', () => {
    expect(loadConfig({ FEED: 'none' }).feed).toEqual({ kind: 'none' });
    expect(loadConfig({ FEED: 'simulated' }).feed).toEqual({ kind: 'simulated' });
    expect(loadConfig({ FEED: 'ws://127.0.0.1:9000/feed' }).feed).toEqual({ kind: 'ws', url: 'ws://127.0.0.1:9000/feed' });
    expect(loadConfig({ FEED: 'wss://feed.example.com' }).feed).toEqual({ kind: 'ws', url: 'wss://feed.example.com' });
  });

  test('FEED=cdp://HOST:PORT (Chrome), with CDP_URL_FILTER', () => {
    expect(loadConfig({ FEED: 'cdp://127.0.0.1:9222' }).feed).toEqual({ kind: 'cdp', host: '127.0.0.1', port: 9222, urlFilter: undefined });
    expect(loadConfig({ FEED: 'cdp://localhost:9333/' }).feed).toEqual({ kind: 'cdp', host: 'localhost', port: 9333, urlFilter: undefined });
    expect(loadConfig({ FEED: 'cdp://[::1]:9222' }).feed).toEqual({ kind: 'cdp', host: '::1', port: 9222, urlFilter: undefined });
    expect(loadConfig({ FEED: 'cdp://127.0.0.1:9222', CDP_URL_FILTER: ' broker.example/trade ' }).feed).toEqual({
      kind: 'cdp',
      host: '127.0.0.1',
      port: 9222,
      urlFilter: 'broker.example/trade',
    });
  });

  test('ASSETS is a comma-separated list, trimmed', () => {
    expect(loadConfig({ ASSETS: 'EUR/USD_otc, BTC.USD ,GBP-JPY' }).assets).toEqual(['EUR/USD_otc', 'BTC.USD', 'GBP-JPY']);
  });
});

describe('loadConfig rejects bad values with a ConfigError naming the variable', () => {
  test.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '3000.5'],
    ['PORT', '3e3'],
    ['PORT', '0x50'],
    ['FEED', 'http://feed.example.com'],
    ['FEED', 'simulator'],
    ['FEED', 'on'],
    ['FEED', 'ws://'],
    ['FEED', 'cdp://127.0.0.1'],
    ['FEED', 'cdp://127.0.0.1:0'],
    ['FEED', 'cdp://127.0.0.1:70000'],
    ['FEED', 'cdp://127.0.0.1:9222/json'],
    ['FEED', 'cdp://127.0.0.1:9222?x=1'],
    ['FEED', 'cdp://user@127.0.0.1:9222'],
    ['FEED', 'cdp://:9222'],
    ['CDP_URL_FILTER', 'broker.example'],
    ['ASSETS', '/EURUSD'],
    ['ASSETS', 'EUR/USD_otc,bad pair'],
    ['ASSETS', ','],
    ['ASSETS', 'A'.repeat(33)],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_URL', '127.0.0.1:6379'],
    ['DATABASE_URL', 'mysql://u@h/db'],
    ['TICKS_PER_MINUTE', '0'],
    ['TICKS_PER_MINUTE', '-5'],
    ['TICKS_PER_MINUTE', 'many'],
    ['TICKS_PER_MINUTE', '1.5'],
    ['SIMULATOR_HISTORY_HOURS', '-1'],
    ['SIMULATOR_HISTORY_HOURS', '2.5'],
    ['SIMULATOR_HISTORY_HOURS', '10000'],
    ['BATCH_INTERVAL_MS', 'soon'],
    ['TICK_BUFFER_SIZE', '0'],
    ['CANDLE_CACHE_SIZE', 'lots'],
    ['CANDLE_CACHE_TTL_S', '-1'],
    ['DATABASE_QUERY_TIMEOUT_MS', '0'],
    ['DATABASE_QUERY_TIMEOUT_MS', 'forever'],
    ['ALLOWED_ORIGINS', 'desk.example.com'],
    ['ALLOWED_ORIGINS', 'https://desk.example.com/app'],
    ['ALLOWED_ORIGINS', 'ftp://desk.example.com'],
    ['ALLOWED_ORIGINS', 'https://ok.example.com,*'],
    ['ACCESS_TOKEN', 'two words'],
    ['INGEST_TOKEN', 'tab\there'],
    ['MAX_PAIRS', '0'],
    ['MAX_PAIRS', 'all'],
    ['MAX_PAIRS', '100001'],
    ['MAX_ALERTS', '0'],
    ['MAX_ALERTS', 'many'],
    ['IMPORT_MAX_BYTES', '100'],
    ['IMPORT_MAX_BYTES', '1e9'],
    ['REDIS_URL', 'redis://127.0.0.1:6379/db5'],
    ['WORKERS', '0'],
    ['WORKERS', '65'],
    ['WORKERS', '2.5'],
    ['WORKERS', '-1'],
    ['WORKERS', 'many'],
  ])('%s=%j', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.message).toContain(name);
    expect(err.problems.length).toBeGreaterThanOrEqual(1);
    expect(err.problems.some((p) => p.includes(name))).toBe(true);
  });

  test('a bad WORKERS names the accepted values', () => {
    expect(configError({ WORKERS: 'many' }).message).toContain('WORKERS="many": must be a whole number from 1 to 64, or auto (one per core)');
  });

  test('CDP_URL_FILTER must be short and printable, and only goes with FEED=cdp://', () => {
    expect(configError({ FEED: 'cdp://127.0.0.1:9222', CDP_URL_FILTER: 'x'.repeat(501) }).message).toContain('CDP_URL_FILTER');
    expect(configError({ FEED: 'cdp://127.0.0.1:9222', CDP_URL_FILTER: 'a\u0001b' }).message).toContain('CDP_URL_FILTER');
    expect(configError({ FEED: 'simulated', CDP_URL_FILTER: 'broker' }).message).toMatch(/CDP_URL_FILTER: only used with FEED=cdp/);
    // A bad cdp:// address is named once, without a second complaint about the filter.
    expect(configError({ FEED: 'cdp://h', CDP_URL_FILTER: 'broker' }).problems).toHaveLength(1);
  });

  test('every bad variable is named at once, not only the first', () => {
    const err = configError({ PORT: 'abc', FEED: 'bogus', LOG_LEVEL: 'loud', TICKS_PER_MINUTE: '0' });
    for (const name of ['PORT', 'FEED', 'LOG_LEVEL', 'TICKS_PER_MINUTE']) expect(err.message).toContain(name);
    expect(err.problems.length).toBeGreaterThanOrEqual(4);
  });

  test('the message shows the bad value so a person can find it', () => {
    expect(configError({ PORT: 'abc' }).message).toContain('abc');
    expect(configError({ LOG_LEVEL: 'verbose' }).message).toContain('verbose');
  });

  test('is a ConfigError (an Error) with name ConfigError', () => {
    const err = configError({ PORT: 'abc' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
  });
});

describe('exposure and timeout settings', () => {
  test('defaults: no access token, no extra origins, 30 s query timeout', () => {
    const c = loadConfig({});
    expect(c.accessToken).toBeUndefined();
    expect(c.allowedOrigins).toEqual([]);
    expect(c.databaseQueryTimeoutMs).toBe(30_000);
  });

  test('ALLOWED_ORIGINS: a comma-separated list, normalised as browsers send an Origin', () => {
    const c = loadConfig({ ALLOWED_ORIGINS: ' https://Desk.Example.com , http://10.0.0.5:8080/ ,https://x.example:443' });
    expect(c.allowedOrigins).toEqual(['https://desk.example.com', 'http://10.0.0.5:8080', 'https://x.example']);
  });

  test('ACCESS_TOKEN and DATABASE_QUERY_TIMEOUT_MS are read', () => {
    const c = loadConfig({ ACCESS_TOKEN: 'tok-123', DATABASE_QUERY_TIMEOUT_MS: '5000' });
    expect(c.accessToken).toBe('tok-123');
    expect(c.databaseQueryTimeoutMs).toBe(5000);
  });
});

describe('TICK_RETENTION_DAYS', () => {
  test('unset keeps ticks for good; a whole number of days from 1', () => {
    expect(loadConfig({ TICK_RETENTION_DAYS: '' }).tickRetentionDays).toBeNull();
    expect(loadConfig({ TICK_RETENTION_DAYS: '7' }).tickRetentionDays).toBe(7);
    expect(configError({ TICK_RETENTION_DAYS: '0' }).message).toMatch(/TICK_RETENTION_DAYS=0: must be between 1 and 36500/);
    expect(configError({ TICK_RETENTION_DAYS: '1.5' }).message).toMatch(/TICK_RETENTION_DAYS="1.5": must be a whole number/);
  });
});
