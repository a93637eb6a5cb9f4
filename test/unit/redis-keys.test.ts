import { describe, expect, test } from 'vitest';
import { keysFor, RedisKeys, redisDatabase } from '../../src/redis/keys.js';
import { redisUrls } from '../../src/redis/redis-urls.js';

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

describe('RedisKeys on a Redis Cluster', () => {
  test('per-pair keys and the channel carry the symbol as a hash tag; single-node names do not change', () => {
    const keys = new RedisKeys('', 0, true);
    expect(keys.ticks('EUR/USD_otc')).toBe('ticks:{EURUSD_otc}');
    expect(keys.updates('EURUSD_otc')).toBe('updates:{EURUSD_otc}');
    expect(keys.historical('EUR/USD_otc', '1M')).toBe('historical:{EURUSD_otc}:1M');
    expect(keys.seq('EUR/USD_otc')).toBe('seq:{EURUSD_otc}');
    expect(keys.ingestQueue('EUR/USD_otc')).toBe('outbox:{EURUSD_otc}');
    expect(keys.unstoredCount('EUR/USD_otc')).toBe('unstored:{EURUSD_otc}');
    expect(new RedisKeys().ingestQueue('EUR/USD_otc')).toBe('queue:persist');
    expect(new RedisKeys().unstoredCount('EUR/USD_otc')).toBe('queue:persist:ticks');
  });

  test('sixteen persist streams, each with its count in its own slot; a pair always goes to the same one', () => {
    const keys = new RedisKeys('q:', 0, true);
    const queues = keys.persistQueues();
    expect(queues).toHaveLength(16);
    expect(queues[0]).toBe('q:queue:persist:{0}');
    expect(keys.persistQueueCount(queues[15]!)).toBe('q:queue:persist:{15}:ticks');
    // The slot of "EURUSD_otc" as a cluster-enabled redis-server 7.0 answers CLUSTER KEYSLOT: 13502; 13502 mod 16 = 14.
    expect(keys.persistQueueOf('EUR/USD_otc')).toBe(`q:queue:persist:{14}`);
    expect(keys.persistQueueOf('EURUSD_otc')).toBe(keys.persistQueueOf('EUR/USD_otc'));
    expect(new RedisKeys('q:').persistQueues()).toEqual(['q:queue:persist']);
  });

  test('keysFor: one node keeps its database; a brace in the prefix is refused on a cluster', () => {
    expect(keysFor('a:', { urls: ['redis://h:6379/4'], cluster: false }).updates('X1')).toBe('a:db4:updates:X1');
    expect(keysFor('a:', { urls: ['redis://h:7000'], cluster: true }).updates('X1')).toBe('a:updates:{X1}');
    expect(() => keysFor('{a}:', { urls: ['redis://h:7000'], cluster: true })).toThrow(/REDIS_KEY_PREFIX="\{a\}:": must not hold \{ or \} on a Redis Cluster/);
  });

  test('redisUrls: a list of nodes, the later ones may leave out the scheme and login', () => {
    expect(redisUrls('redis://127.0.0.1:7000')).toEqual(['redis://127.0.0.1:7000']);
    expect(redisUrls('rediss://u:p@a:7000, rediss://u:p@b:7001')).toEqual(['rediss://u:p@a:7000', 'rediss://u:p@b:7001']);
    expect(redisUrls('rediss://u:p@a:7000,b:7001')).toEqual(['rediss://u:p@a:7000', 'rediss://u:p@b:7001']);
  });
});
