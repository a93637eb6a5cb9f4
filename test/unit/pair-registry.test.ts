import { describe, expect, test } from 'vitest';
import { RedisKeys } from '../../src/redis/keys.js';
import { PairLimitError, PairRegistry } from '../../src/redis/pair-registry.js';

/** The registry without Redis (the CLI when Redis is down): the same rules, this process's alone. */
const local = (maxPairs = 10) => new PairRegistry(null, new RedisKeys('t:'), { maxPairs });
const tick = (pair: string, price = 1) => ({ pair, price, timestamp: 1000 as never });

describe('PairRegistry (local, no Redis)', () => {
  test('the first spelling of a symbol is canonical; later spellings are renamed to it', async () => {
    const r = local();
    const { ticks, refused } = await r.canonicalize([tick('US.500'), tick('US500', 2), tick('US-500', 3), tick('EUR/USD_otc')], 'some');
    expect(refused).toEqual([]);
    expect(ticks.map((t) => [t.pair, t.price])).toEqual([
      ['US.500', 1],
      ['US.500', 2],
      ['US.500', 3],
      ['EUR/USD_otc', 1],
    ]);
    expect(await r.resolve('US-500')).toBe('US.500');
    expect(await r.resolve('EURUSD_otc')).toBe('EUR/USD_otc');
    expect(await r.resolve('GBP/USD_otc')).toBeNull();
    expect(await r.all()).toEqual(['EUR/USD_otc', 'US.500']);
  });

  test('named() renames from the cache alone, or says it cannot', async () => {
    const r = local();
    const input = [tick('EURUSD_otc')];
    expect(r.named(input)).toBeNull();
    await r.register(['EUR/USD_otc'], 'some');
    const out = r.named(input)!;
    expect(out.map((t) => t.pair)).toEqual(['EUR/USD_otc']);
    expect(input[0]!.pair).toBe('EURUSD_otc'); // the caller's ticks are not changed
    const same = [tick('EUR/USD_otc')];
    expect(r.named(same)).toBe(same); // nothing to rename: no copy
  });

  test('MAX_PAIRS: "some" registers what fits in order; "all" registers all or none', async () => {
    const r = local(3);
    expect(await r.register(['A', 'B'], 'some')).toEqual(['A', 'B']);
    await expect(r.canonicalizeAll([tick('A'), tick('C'), tick('D')])).rejects.toThrow(PairLimitError);
    expect(await r.resolve('C')).toBeNull();
    try {
      await r.canonicalizeAll([tick('A'), tick('C'), tick('D')]);
    } catch (err) {
      expect((err as PairLimitError).details).toEqual([
        { index: 1, field: 'pair', message: '"C" would be a new pair past MAX_PAIRS (3 pairs)' },
        { index: 2, field: 'pair', message: '"D" would be a new pair past MAX_PAIRS (3 pairs)' },
      ]);
    }
    // Symbols keep their case: 'b' is an instrument of its own, and there is no room left for it.
    const { ticks, refused } = await r.canonicalize([tick('C'), tick('D'), tick('b'), tick('A')], 'some');
    expect(ticks.map((t) => t.pair)).toEqual(['C', 'A']);
    expect(refused).toEqual([1, 2]);
    expect(await r.all()).toEqual(['A', 'B', 'C']);
  });

  test('seeding: the stored spellings win over later ones', async () => {
    const r = local();
    await r.seedFrom(async () => ['EUR/USD_otc']);
    expect((await r.canonicalize([tick('EURUSD_otc')], 'some')).ticks[0]!.pair).toBe('EUR/USD_otc');
  });
});
