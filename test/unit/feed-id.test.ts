import { describe, expect, test } from 'vitest';
import { compareCanonicalIntegers, encodeFeedId } from '../../src/db/feed-id.js';

describe('encodeFeedId: an id is stored as BIGINT only when that reads back as the same text', () => {
  test.each([
    ['0', '0'],
    ['123', '123'],
    ['-5', '-5'],
    ['9223372036854775807', '9223372036854775807'],
    ['-9223372036854775808', '-9223372036854775808'],
  ])('%s is an integer', (id, num) => {
    expect(encodeFeedId(id)).toEqual({ num, text: null });
  });

  test.each(['007', '-0', '+5', '1e3', '1.0', ' 1', '9223372036854775808', '-9223372036854775809', '12345678901234567890', 'abc', 'T-1', ''])(
    '%j stays text',
    (id) => {
      expect(encodeFeedId(id)).toEqual({ num: null, text: id });
    },
  );

  test('no id is neither', () => {
    expect(encodeFeedId(null)).toEqual({ num: null, text: null });
  });
});

describe('compareCanonicalIntegers orders canonical decimal ids by value, as BigInt would', () => {
  test('hand-checked pairs', () => {
    const sign = (a: string, b: string) => Math.sign(compareCanonicalIntegers(a, b));
    expect(sign('9', '10')).toBe(-1); // shorter is smaller, though '9' > '1' as text
    expect(sign('10', '9')).toBe(1);
    expect(sign('123', '123')).toBe(0);
    expect(sign('-10', '-9')).toBe(-1); // among negatives the longer is smaller
    expect(sign('-5', '-3')).toBe(-1);
    expect(sign('-1', '0')).toBe(-1);
    expect(sign('0', '-9223372036854775808')).toBe(1);
    expect(sign('9223372036854775807', '9223372036854775806')).toBe(1);
  });

  test('agrees with BigInt on every pair of a mixed list', () => {
    const ids = ['0', '7', '-7', '10', '-10', '99', '100', '-100', '1000000012820', '1000000012825', '-9223372036854775808', '9223372036854775807'];
    for (const a of ids) {
      for (const b of ids) {
        const big = BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
        expect(Math.sign(compareCanonicalIntegers(a, b)), `${a} vs ${b}`).toBe(big);
      }
    }
  });
});
