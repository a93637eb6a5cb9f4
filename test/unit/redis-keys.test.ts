import { describe, expect, test } from 'vitest';
import { RedisKeys, redisDatabase } from '../../src/redis/keys.js';

describe('RedisKeys channels and databases', () => {
  test('database 0 without a prefix keeps the contract layout exactly', () => {
    const keys = new RedisKeys();
    expect(keys.updates('EUR/USD_otc')).toBe('updates:EURUSD_otc');
    expect(keys.ticks('EUR/USD_otc')).toBe('ticks:EURUSD_otc');
    expect(keys.historical('EUR/USD_otc', '1M')).toBe('historical:EURUSD_otc:1M');
    expect(keys.instruments()).toBe('instruments');
  });

  test('on another database channels carry its index (keys live in the database already)', () => {
    const keys = new RedisKeys('', 5);
    expect(keys.updates('EUR/USD_otc')).toBe('db5:updates:EURUSD_otc');
    expect(keys.ticks('EUR/USD_otc')).toBe('ticks:EURUSD_otc');
    const prefixed = new RedisKeys('app:', 6);
    expect(prefixed.updates('EURUSD_otc')).toBe('app:db6:updates:EURUSD_otc');
    expect(prefixed.seq('EURUSD_otc')).toBe('app:seq:EURUSD_otc');
    expect(new RedisKeys('app:', 0).updates('EURUSD_otc')).toBe('app:updates:EURUSD_otc');
  });

  test('the alert channels carry the prefix and the database index like the tick channels', () => {
    expect(new RedisKeys().alertsFired()).toBe('alerts:fired');
    expect(new RedisKeys().alertChanges()).toBe('alerts:changes');
    expect(new RedisKeys('app:', 0).alertsFired()).toBe('app:alerts:fired');
    expect(new RedisKeys('app:', 6).alertsFired()).toBe('app:db6:alerts:fired');
    expect(new RedisKeys('', 3).alertChanges()).toBe('db3:alerts:changes');
  });

  test('every spelling of a pair names the same keys and channel', () => {
    const keys = new RedisKeys('p:', 2);
    for (const pair of ['US.500', 'US500', 'US-500']) {
      expect(keys.updates(pair)).toBe('p:db2:updates:US500');
      expect(keys.ticks(pair)).toBe('p:ticks:US500');
    }
  });

  test('redisDatabase reads the database from the URL path, as node-redis does', () => {
    expect(redisDatabase(undefined)).toBe(0);
    expect(redisDatabase('redis://127.0.0.1:6379')).toBe(0);
    expect(redisDatabase('redis://127.0.0.1:6379/')).toBe(0);
    expect(redisDatabase('redis://127.0.0.1:6379/5')).toBe(5);
    expect(redisDatabase('rediss://user:pw@host:6380/12')).toBe(12);
  });
});
