import { describe, expect, test } from 'vitest';
import { ValidationError, type FieldIssue } from '../../src/core/errors.js';
import { validateTick, validateTickBatch } from '../../src/core/tick-validation.js';

/** A fixed "now" so the future-timestamp rule is deterministic: 2024-11-22T18:26:40.000Z. */
const NOW = 1_732_300_000_000;
const GOOD = { pair: 'EUR/USD_otc', price: 1.0823, timestamp: 1_732_299_999_123 };

/** Issues for one raw tick validated at index `index`. */
function issuesOf(raw: unknown, index = 0): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const tick = validateTick(raw, index, NOW, issues);
  if (issues.length > 0) expect(tick).toBeNull();
  return issues;
}

/** Fields (in order) that broke a rule for one raw tick. */
function badFields(raw: unknown): string[] {
  return issuesOf(raw).map((i) => i.field);
}

/** The ValidationError a batch throws; fails the test when it does not throw one. */
function batchError(body: unknown, maxTicks?: number): ValidationError {
  try {
    validateTickBatch(body, NOW, maxTicks);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('validateTickBatch accepted a bad body');
}

function expectReadable(issues: FieldIssue[]): void {
  for (const i of issues) {
    expect(typeof i.index).toBe('number');
    expect(typeof i.field).toBe('string');
    expect(typeof i.message).toBe('string');
    expect(i.message.length).toBeGreaterThan(3);
  }
}

describe('a valid tick', () => {
  test('is returned normalised with exactly pair, price and timestamp', () => {
    const issues: FieldIssue[] = [];
    const tick = validateTick({ pair: 'EUR/USD_otc', price: 1.0823, timestamp: 1_732_299_999_123 }, 0, NOW, issues);
    expect(issues).toEqual([]);
    expect(tick).toEqual({ pair: 'EUR/USD_otc', price: 1.0823, timestamp: 1_732_299_999_123 });
    expect(Object.keys(tick!).sort()).toEqual(['pair', 'price', 'timestamp']);
  });

  test('unknown fields are dropped from the normalised tick', () => {
    const issues: FieldIssue[] = [];
    const tick = validateTick(
      { pair: 'GBP/USD_otc', price: 1.25, timestamp: 1_700_000_000_000, seq: 99, source: 'x', nested: { a: 1 }, volume: 3 },
      0,
      NOW,
      issues,
    );
    expect(issues).toEqual([]);
    expect(tick).toEqual({ pair: 'GBP/USD_otc', price: 1.25, timestamp: 1_700_000_000_000 });
    expect(tick).not.toHaveProperty('seq');
    expect(tick).not.toHaveProperty('source');
    expect(tick).not.toHaveProperty('nested');
    expect(tick).not.toHaveProperty('volume');
  });

  test('a string id is kept', () => {
    const issues: FieldIssue[] = [];
    expect(validateTick({ ...GOOD, id: 'abc-1' }, 0, NOW, issues)).toEqual({ ...GOOD, id: 'abc-1' });
    expect(issues).toEqual([]);
  });

  test('an integer id is kept as a number', () => {
    const issues: FieldIssue[] = [];
    expect(validateTick({ ...GOOD, id: 42 }, 0, NOW, issues)).toEqual({ ...GOOD, id: 42 });
    expect(issues).toEqual([]);
  });

  test('a null id is treated as absent (no id key at all)', () => {
    const issues: FieldIssue[] = [];
    const tick = validateTick({ ...GOOD, id: null }, 0, NOW, issues);
    expect(issues).toEqual([]);
    expect(tick).toEqual(GOOD);
    expect(Object.keys(tick!)).not.toContain('id');
  });

  test('ids of 1 and 128 characters and the largest safe integer are accepted', () => {
    expect(issuesOf({ ...GOOD, id: 'a' })).toEqual([]);
    expect(issuesOf({ ...GOOD, id: 'x'.repeat(128) })).toEqual([]);
    expect(issuesOf({ ...GOOD, id: 9_007_199_254_740_991 })).toEqual([]);
    expect(issuesOf({ ...GOOD, id: 0 })).toEqual([]);
  });
});

describe('pair', () => {
  test('is required', () => {
    const issues = issuesOf({ price: 1.1, timestamp: 1_700_000_000_000 });
    expect(issues).toEqual([{ index: 0, field: 'pair', message: expect.stringMatching(/required/i) }]);
  });

  test.each([
    ['a number', 123],
    ['null', null],
    ['an array', ['EUR/USD_otc']],
    ['an object', { $gt: '' }],
    ['a boolean', true],
  ])('must be a string, not %s', (_what, pair) => {
    const issues = issuesOf({ ...GOOD, pair });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, field: 'pair' });
    expect(issues[0]!.message).toMatch(/string/i);
  });

  test('must not be empty', () => {
    expect(badFields({ ...GOOD, pair: '' })).toEqual(['pair']);
  });

  test('32 characters is the longest allowed, 33 is rejected naming the limit', () => {
    expect(issuesOf({ ...GOOD, pair: 'A'.repeat(32) })).toEqual([]);
    const issues = issuesOf({ ...GOOD, pair: 'A'.repeat(33) });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, field: 'pair' });
    expect(issues[0]!.message).toContain('32');
  });

  test.each(['EUR/USD_otc', 'BTC.USD', 'EUR-USD', 'a', '9', '1INCH/USDT', 'x/y_z.w-v', 'eur/usd_OTC'])(
    'accepts %j',
    (pair) => {
      expect(issuesOf({ ...GOOD, pair })).toEqual([]);
    },
  );

  test.each([
    ['a leading /', '/EUR/USD'],
    ['a leading _', '_EURUSD'],
    ['a leading -', '-EURUSD'],
    ['a leading .', '.EURUSD'],
    ['a space', 'EUR USD'],
    ['a trailing newline', 'EURUSD\n'],
    ['a tab', 'EUR\tUSD'],
    ['a non-ASCII letter', 'EUR/USD_ötc'],
    ['an emoji', 'EUR💶'],
    ['a colon (Redis key separator)', 'EUR:USD'],
    ['a wildcard', 'EUR*'],
    ['SQL text', "EUR'; DROP TABLE x;--"],
    ['path text', '../../etc/passwd'],
    ['a backslash', 'EUR\\USD'],
    ['a NUL byte', 'EUR\u0000USD'],
  ])('rejects a pair with %s', (_what, pair) => {
    const issues = issuesOf({ ...GOOD, pair });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, field: 'pair' });
  });
});

describe('price', () => {
  test('is required', () => {
    expect(issuesOf({ pair: 'EUR/USD_otc', timestamp: 1_700_000_000_000 })).toEqual([
      { index: 0, field: 'price', message: expect.stringMatching(/required/i) },
    ]);
  });

  test('a numeric string is rejected, and the message says so', () => {
    const issues = issuesOf({ ...GOOD, price: '1.0823' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, field: 'price' });
    expect(issues[0]!.message).toMatch(/string/i);
  });

  test.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['zero', 0],
    ['negative zero', -0],
    ['a negative number', -1.0823],
    ['null', null],
    ['a boolean', true],
    ['an object', { value: 1 }],
    ['an array', [1.08]],
  ])('rejects %s', (_what, price) => {
    expect(badFields({ ...GOOD, price })).toEqual(['price']);
  });

  test('NaN and Infinity are reported as not finite, zero and negatives as not > 0', () => {
    expect(issuesOf({ ...GOOD, price: Number.NaN })[0]!.message).toMatch(/finite/i);
    expect(issuesOf({ ...GOOD, price: Number.POSITIVE_INFINITY })[0]!.message).toMatch(/finite/i);
    expect(issuesOf({ ...GOOD, price: 0 })[0]!.message).toMatch(/greater than 0|> ?0|positive/i);
    expect(issuesOf({ ...GOOD, price: -5 })[0]!.message).toMatch(/greater than 0|> ?0|positive/i);
  });

  test('tiny and huge finite positive prices are accepted', () => {
    expect(issuesOf({ ...GOOD, price: Number.MIN_VALUE })).toEqual([]);
    expect(issuesOf({ ...GOOD, price: 0.00001 })).toEqual([]);
    expect(issuesOf({ ...GOOD, price: 1e300 })).toEqual([]);
    expect(issuesOf({ ...GOOD, price: 150 })).toEqual([]);
  });
});

describe('timestamp', () => {
  test('is required', () => {
    expect(issuesOf({ pair: 'EUR/USD_otc', price: 1.1 })).toEqual([
      { index: 0, field: 'timestamp', message: expect.stringMatching(/required/i) },
    ]);
  });

  test.each([
    ['a fractional number', 1_732_299_999_123.5],
    ['a numeric string', '1732299999123'],
    ['an ISO date string', '2024-11-22T18:26:39.123Z'],
    ['zero', 0],
    ['a negative number', -1_732_299_999_123],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['null', null],
    ['a boolean', true],
    ['an object', {}],
  ])('rejects %s', (_what, timestamp) => {
    expect(badFields({ ...GOOD, timestamp })).toEqual(['timestamp']);
  });

  test('up to exactly 60 s in the future is accepted', () => {
    expect(issuesOf({ ...GOOD, timestamp: NOW })).toEqual([]);
    expect(issuesOf({ ...GOOD, timestamp: NOW + 59_999 })).toEqual([]);
    expect(issuesOf({ ...GOOD, timestamp: NOW + 60_000 })).toEqual([]);
  });

  test('more than 60 s in the future is rejected with a message about the future', () => {
    const issues = issuesOf({ ...GOOD, timestamp: NOW + 60_001 });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ index: 0, field: 'timestamp' });
    expect(issues[0]!.message).toMatch(/future/i);
    expect(badFields({ ...GOOD, timestamp: NOW + 3_600_000 })).toEqual(['timestamp']);
  });

  test('the future limit follows the nowMs passed in, not the wall clock', () => {
    // 1_000_000 ms is 1970: in the past for the wall clock, but 1 ms beyond the limit for this nowMs.
    const issues: FieldIssue[] = [];
    expect(validateTick({ ...GOOD, timestamp: 1_000_000 }, 0, 939_999, issues)).toBeNull();
    expect(issues.map((i) => i.field)).toEqual(['timestamp']);
    const ok: FieldIssue[] = [];
    expect(validateTick({ ...GOOD, timestamp: 1_000_000 }, 0, 940_000, ok)).toEqual({ ...GOOD, timestamp: 1_000_000 });
    expect(ok).toEqual([]);
  });

  test('old timestamps are accepted (1 ms after the epoch)', () => {
    expect(issuesOf({ ...GOOD, timestamp: 1 })).toEqual([]);
  });
});

describe('id', () => {
  test.each([
    ['an empty string', ''],
    ['a 129-character string', 'x'.repeat(129)],
    ['a fractional number', 1.5],
    ['an unsafe integer', 2 ** 53],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a boolean', true],
    ['an object', { a: 1 }],
    ['an array', [1]],
  ])('rejects %s', (_what, id) => {
    expect(badFields({ ...GOOD, id })).toEqual(['id']);
  });
});

describe('one tick breaking several rules', () => {
  test('gets one issue per broken field, all at its index', () => {
    const issues = issuesOf({ pair: '', price: '1.1', timestamp: 1.5, id: '' }, 7);
    expect(issues.map((i) => [i.index, i.field])).toEqual([
      [7, 'pair'],
      [7, 'price'],
      [7, 'timestamp'],
      [7, 'id'],
    ]);
    expectReadable(issues);
  });

  test('an empty object lists pair, price and timestamp as required', () => {
    expect(badFields({})).toEqual(['pair', 'price', 'timestamp']);
  });

  test.each([
    ['null', null],
    ['a number', 42],
    ['a string', 'EUR/USD_otc 1.08 1732299999123'],
    ['an array', [GOOD]],
  ])('a tick that is %s is one issue, not a crash', (_what, raw) => {
    const issues = issuesOf(raw, 3);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.index).toBe(3);
    expectReadable(issues);
  });
});

describe('validateTickBatch', () => {
  test('one tick object gives a list of one normalised tick', () => {
    expect(validateTickBatch({ ...GOOD, extra: 'dropped' }, NOW)).toEqual([GOOD]);
  });

  test('an array of valid ticks is returned normalised, in order', () => {
    const a = { pair: 'EUR/USD_otc', price: 1.1, timestamp: 1_700_000_000_001 };
    const b = { pair: 'GBP/USD_otc', price: 1.2, timestamp: 1_700_000_000_002, id: 'b' };
    const c = { pair: 'USD/JPY_otc', price: 150.5, timestamp: 1_700_000_000_003, id: 3, junk: true };
    expect(validateTickBatch([a, b, c], NOW)).toEqual([
      { pair: 'EUR/USD_otc', price: 1.1, timestamp: 1_700_000_000_001 },
      { pair: 'GBP/USD_otc', price: 1.2, timestamp: 1_700_000_000_002, id: 'b' },
      { pair: 'USD/JPY_otc', price: 150.5, timestamp: 1_700_000_000_003, id: 3 },
    ]);
  });

  test('is all or nothing: one bad tick among valid ones throws and names its index and field', () => {
    const body = [GOOD, GOOD, { ...GOOD, price: -1 }, GOOD];
    const err = batchError(body);
    expect(err.details).toEqual([{ index: 2, field: 'price', message: expect.any(String) }]);
    expect(err.message.length).toBeGreaterThan(3);
  });

  test('lists every issue of every bad tick with its own index', () => {
    const body = [
      { ...GOOD, pair: '/bad' }, // 0: pair
      GOOD, // 1: fine
      { ...GOOD, price: 'x', timestamp: NOW + 120_000 }, // 2: price and timestamp
      GOOD, // 3: fine
      { ...GOOD, id: false }, // 4: id
    ];
    const err = batchError(body);
    expect(err.details.map((d) => [d.index, d.field])).toEqual([
      [0, 'pair'],
      [2, 'price'],
      [2, 'timestamp'],
      [4, 'id'],
    ]);
    expectReadable(err.details);
  });

  test('an empty array is rejected', () => {
    const err = batchError([]);
    expect(err.details.length).toBeGreaterThan(0);
    expectReadable(err.details);
  });

  test('a null body is rejected', () => {
    const err = batchError(null);
    expect(err.details.length).toBeGreaterThan(0);
    expectReadable(err.details);
  });

  test('an undefined body is rejected', () => {
    const err = batchError(undefined);
    expect(err.details.length).toBeGreaterThan(0);
  });

  test.each([
    ['a number', 42],
    ['a string', 'hello'],
    ['a boolean', true],
  ])('a body that is %s is rejected at index 0', (_what, body) => {
    const err = batchError(body);
    expect(err.details).toHaveLength(1);
    expect(err.details[0]!.index).toBe(0);
  });

  test('an array holding null among valid ticks is rejected at that index', () => {
    const err = batchError([GOOD, null]);
    expect(err.details).toHaveLength(1);
    expect(err.details[0]!.index).toBe(1);
  });

  test('more ticks than maxTicks is rejected; exactly maxTicks is fine', () => {
    expect(validateTickBatch([GOOD, GOOD], NOW, 2)).toHaveLength(2);
    const err = batchError([GOOD, GOOD, GOOD], 2);
    expect(err.details.length).toBeGreaterThan(0);
  });

  test('uses the nowMs passed in for every tick', () => {
    const t = { ...GOOD, timestamp: NOW + 60_000 };
    expect(validateTickBatch([t], NOW)).toEqual([t]);
    const err = batchError([t, { ...t, timestamp: NOW + 60_001 }]);
    expect(err.details.map((d) => [d.index, d.field])).toEqual([[1, 'timestamp']]);
  });
});

describe('id control characters', () => {
  test.each(['a\u0000b', 'tab\there', 'line\nbreak', '\u001f', 'del\u007f'])('id %j is refused', (id) => {
    const issues: FieldIssue[] = [];
    expect(validateTick({ pair: 'EUR/USD_otc', price: 1, timestamp: NOW, id }, 0, NOW, issues)).toBeNull();
    expect(issues).toEqual([{ index: 0, field: 'id', message: 'must not contain control characters' }]);
  });
});

describe('ids must be well-formed Unicode', () => {
  test.each(['\ud800', 'a\udc00b', 'end\ud83d', '\udfff\ud800'])('id %j (a lone surrogate) is refused', (id) => {
    const issues: FieldIssue[] = [];
    expect(validateTick({ pair: 'EUR/USD_otc', price: 1, timestamp: NOW, id }, 3, NOW, issues)).toBeNull();
    expect(issues).toEqual([{ index: 3, field: 'id', message: 'must be well-formed Unicode text (it contains a lone surrogate)' }]);
  });

  test('a surrogate pair (an emoji) and U+FFFD itself are fine', () => {
    for (const id of ['\ud83d\ude00', 'price \ufffd', '✓']) {
      const issues: FieldIssue[] = [];
      expect(validateTick({ pair: 'EUR/USD_otc', price: 1, timestamp: NOW, id }, 0, NOW, issues)).toEqual({ pair: 'EUR/USD_otc', price: 1, timestamp: NOW, id });
    }
  });
});
