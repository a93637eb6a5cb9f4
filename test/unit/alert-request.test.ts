import { describe, expect, test } from 'vitest';
import { parseAlertRequest } from '../../src/core/alert-request.js';
import { ValidationError } from '../../src/core/errors.js';

/** The fields a bad request names, in order. */
function badFields(body: unknown): string[] {
  try {
    parseAlertRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).details.map((d) => d.field);
  }
  throw new Error('accepted a bad alert');
}

describe('parseAlertRequest', () => {
  test('a good alert keeps its fields; other fields are dropped; an empty note is none', () => {
    expect(parseAlertRequest({ pair: 'EUR/USD_otc', condition: 'above', price: 1.0823, note: 'breakout', extra: 1 })).toEqual({
      pair: 'EUR/USD_otc',
      condition: 'above',
      price: 1.0823,
      note: 'breakout',
    });
    expect(parseAlertRequest({ pair: 'EURUSD_otc', condition: 'below', price: 150 })).toEqual({ pair: 'EURUSD_otc', condition: 'below', price: 150, note: null });
    expect(parseAlertRequest({ pair: 'X', condition: 'below', price: 1, note: '  ' }).note).toBeNull();
    expect(parseAlertRequest({ pair: 'X', condition: 'below', price: 1, note: null }).note).toBeNull();
  });

  test.each([
    ['no body', null, ['body']],
    ['an array', [{ pair: 'X', condition: 'above', price: 1 }], ['body']],
    ['nothing in it', {}, ['pair', 'condition', 'price']],
    ['a bad pair', { pair: '/EUR', condition: 'above', price: 1 }, ['pair']],
    ['a pair too long', { pair: 'A'.repeat(33), condition: 'above', price: 1 }, ['pair']],
    ['a condition in capitals', { pair: 'X', condition: 'ABOVE', price: 1 }, ['condition']],
    ['a condition that is not one', { pair: 'X', condition: 'crosses', price: 1 }, ['condition']],
    ['a price as a string', { pair: 'X', condition: 'above', price: '1.1' }, ['price']],
    ['a price of 0', { pair: 'X', condition: 'above', price: 0 }, ['price']],
    ['a negative price', { pair: 'X', condition: 'above', price: -1 }, ['price']],
    ['a price of null', { pair: 'X', condition: 'above', price: null }, ['price']],
    ['a note that is a number', { pair: 'X', condition: 'above', price: 1, note: 5 }, ['note']],
    ['a note over 200 characters', { pair: 'X', condition: 'above', price: 1, note: 'n'.repeat(201) }, ['note']],
    ['a note with a line break', { pair: 'X', condition: 'above', price: 1, note: 'a\nb' }, ['note']],
    ['a note with a lone surrogate', { pair: 'X', condition: 'above', price: 1, note: 'a\ud800' }, ['note']],
    ['everything wrong', { pair: 5, condition: 1, price: 'x', note: [] }, ['pair', 'condition', 'price', 'note']],
  ])('%s is refused, naming %j', (_what, body, fields) => {
    expect(badFields(body)).toEqual(fields);
  });

  test('a note of exactly 200 characters is fine; the message names the field and the reason', () => {
    expect(parseAlertRequest({ pair: 'X', condition: 'above', price: 1, note: 'n'.repeat(200) }).note).toHaveLength(200);
    try {
      parseAlertRequest({ pair: 'X', condition: 'above', price: Number.POSITIVE_INFINITY });
      throw new Error('accepted');
    } catch (err) {
      expect((err as Error).message).toBe('Invalid alert: price must be a finite number');
    }
  });
});
