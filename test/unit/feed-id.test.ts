import { describe, expect, test } from 'vitest';
import { encodeFeedId } from '../../src/db/feed-id.js';

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
