import { describe, expect, test } from 'vitest';
import type { FieldIssue } from '../../src/core/errors.js';
import { parseTimeArg, TimeArgError } from '../../src/csv/csv-export.js';
import { CsvHeaderError, csvLayout, formatCsvNumber, guardCsvText, parseCsvTick, unguardCsvText } from '../../src/csv/csv-tick.js';
import { firstInvalidByte } from '../../src/csv/strict-utf8.js';

/** A fixed "now" so the future-timestamp rule is deterministic: 2024-11-22T18:26:40.000Z. */
const NOW = 1_732_300_000_000;
const TS = '1732299999123';
const WITH_ID = csvLayout(['pair', 'price', 'timestamp', 'id']);
const NO_ID = csvLayout(['pair', 'price', 'timestamp']);

function parse(fields: string[], layout = WITH_ID, line = 2) {
  const issues: FieldIssue[] = [];
  const tick = parseCsvTick(fields, layout, line, NOW, issues);
  if (issues.length > 0) expect(tick).toBeNull();
  return { tick, issues, fields: issues.map((i) => i.field) };
}

describe('csvLayout', () => {
  test('finds the columns in any order, case-insensitively, ignoring unknown ones', () => {
    expect(csvLayout(['timestamp', 'volume', 'Price', ' PAIR '])).toEqual({ pair: 3, price: 2, timestamp: 0, id: undefined, width: 4 });
    expect(WITH_ID).toEqual({ pair: 0, price: 1, timestamp: 2, id: 3, width: 4 });
  });

  test('a missing column is a clear error naming it', () => {
    expect(() => csvLayout(['pair', 'timestamp'])).toThrow(CsvHeaderError);
    expect(() => csvLayout(['pair', 'timestamp'])).toThrow(/missing: price/);
    expect(() => csvLayout(['EUR/USD_otc', '1.08', TS])).toThrow(/missing: pair, price, timestamp/);
  });

  test('a column named twice is an error', () => {
    expect(() => csvLayout(['pair', 'price', 'timestamp', 'price'])).toThrow(/"price" twice/);
  });
});

describe('parseCsvTick', () => {
  test('a good row becomes a tick with numbers, no id when the id column is absent', () => {
    const { tick, issues } = parse(['EUR/USD_otc', '1.0823', TS], NO_ID);
    expect(issues).toEqual([]);
    expect(tick).toEqual({ pair: 'EUR/USD_otc', price: 1.0823, timestamp: 1_732_299_999_123 });
  });

  test('an id is kept verbatim as a string; an empty id field means no id', () => {
    expect(parse(['EUR/USD_otc', '1.0823', TS, '42']).tick).toEqual({ pair: 'EUR/USD_otc', price: 1.0823, timestamp: 1_732_299_999_123, id: '42' });
    expect(parse(['EUR/USD_otc', '1.0823', TS, ' a,b "c" ']).tick?.id).toBe(' a,b "c" ');
    const empty = parse(['EUR/USD_otc', '1.0823', TS, '']).tick;
    expect(empty).toEqual({ pair: 'EUR/USD_otc', price: 1.0823, timestamp: 1_732_299_999_123 });
    expect(empty && 'id' in empty).toBe(false);
  });

  test('an id longer than the contract allows is rejected', () => {
    expect(parse(['EUR/USD_otc', '1.0823', TS, 'x'.repeat(129)]).fields).toEqual(['id']);
  });

  test('an id with a lone surrogate is rejected, naming the line and the field', () => {
    expect(parse(['EUR/USD_otc', '1.0823', TS, 'a\ud800'], WITH_ID, 7).issues).toEqual([
      { index: 7, field: 'id', message: 'must be well-formed Unicode text (it contains a lone surrogate)' },
    ]);
  });

  test('string garbage in price is rejected, quoting what was there', () => {
    const { issues } = parse(['EUR/USD_otc', 'abc', TS]);
    expect(issues).toEqual([{ index: 2, field: 'price', message: 'must be a decimal number like 1.0823, got "abc"' }]);
    for (const bad of ['1.2.3', '0x10', '1_000', '1,5', 'Infinity', 'NaN', '1.0823abc', '--1', '.']) {
      expect(parse(['EUR/USD_otc', bad, TS]).fields, bad).toEqual(['price']);
    }
  });

  test("'1e3' is not a plain decimal number", () => {
    expect(parse(['EUR/USD_otc', '1e3', TS]).issues[0]?.message).toBe('must be a decimal number like 1.0823, got "1e3"');
  });

  test("' 1.5 ': spaces around a number are allowed", () => {
    expect(parse(['EUR/USD_otc', ' 1.5 ', ` ${TS} `]).tick).toEqual({ pair: 'EUR/USD_otc', price: 1.5, timestamp: 1_732_299_999_123 });
  });

  test('spaces around the pair break the pair rule (the pair is identity, taken verbatim)', () => {
    expect(parse([' EUR/USD_otc', '1.5', TS]).fields).toEqual(['pair']);
  });

  test('other decimal spellings: .5, 5., +1.25', () => {
    expect(parse(['A', '.5', TS]).tick?.price).toBe(0.5);
    expect(parse(['A', '5.', TS]).tick?.price).toBe(5);
    expect(parse(['A', '+1.25', TS]).tick?.price).toBe(1.25);
  });

  test('a negative or zero price breaks the contract rule', () => {
    expect(parse(['EUR/USD_otc', '-1.5', TS]).issues).toEqual([{ index: 2, field: 'price', message: 'must be greater than 0' }]);
    expect(parse(['EUR/USD_otc', '0', TS]).fields).toEqual(['price']);
    expect(parse(['EUR/USD_otc', '0.000', TS]).fields).toEqual(['price']);
  });

  test('a fractional timestamp is rejected', () => {
    expect(parse(['EUR/USD_otc', '1.5', '1732299999123.5']).issues).toEqual([
      { index: 2, field: 'timestamp', message: 'must be an integer of milliseconds since epoch, got "1732299999123.5"' },
    ]);
  });

  test('timestamps: negative, too far in the future, beyond safe integers, exponent', () => {
    expect(parse(['A', '1.5', '-5']).issues[0]?.message).toMatch(/positive/);
    expect(parse(['A', '1.5', String(NOW + 61_000)]).issues[0]?.message).toMatch(/future/);
    expect(parse(['A', '1.5', String(NOW + 59_000)]).issues).toEqual([]);
    expect(parse(['A', '1.5', '99999999999999999999']).fields).toEqual(['timestamp']);
    expect(parse(['A', '1.5', '1.7e12']).fields).toEqual(['timestamp']);
  });

  test('missing fields are required: empty ones and ones the record does not have', () => {
    expect(parse(['', '', '', '']).issues).toEqual([
      { index: 2, field: 'pair', message: 'is required' },
      { index: 2, field: 'price', message: 'is required' },
      { index: 2, field: 'timestamp', message: 'is required' },
    ]);
    expect(parse(['EUR/USD_otc']).fields).toEqual(['price', 'timestamp']);
    expect(parse(['EUR/USD_otc', '  ', TS]).fields).toEqual(['price']);
  });

  test('a record with more fields than the header is rejected', () => {
    const { issues } = parse(['EUR/USD_otc', '1.5', TS, 'id1', 'extra'], WITH_ID, 9);
    expect(issues).toEqual([{ index: 9, field: 'record', message: 'has 5 fields but the header names 4' }]);
  });

  test('the line number is the issue index; every broken field is reported once, in column order', () => {
    const { issues } = parse(['bad pair!', 'x', '1.5'], NO_ID, 17);
    expect(issues.map((i) => [i.index, i.field])).toEqual([
      [17, 'pair'],
      [17, 'price'],
      [17, 'timestamp'],
    ]);
  });

  test('a bad pair reports the pair rule', () => {
    expect(parse(['/EUR', '1.5', TS]).issues[0]?.message).toMatch(/must start with a letter or digit/);
    expect(parse(['A'.repeat(33), '1.5', TS]).fields).toEqual(['pair']);
  });
});

describe('formatCsvNumber', () => {
  test('reads back to exactly the same number, never with an exponent', () => {
    const values = [1.0823, 0.1 + 0.2, 1e-7, 1.5e-10, 123456789.123456, 1e21, 2.5e22, 5e-324, Number.MAX_VALUE, 1_732_300_000_123, 7];
    for (const v of values) {
      const text = formatCsvNumber(v);
      expect(text, String(v)).toMatch(/^-?\d+(\.\d+)?$/);
      expect(Number(text), text).toBe(v);
    }
    expect(formatCsvNumber(1e-7)).toBe('0.0000001');
    expect(formatCsvNumber(1.5e-7)).toBe('0.00000015');
    expect(formatCsvNumber(1e21)).toBe('1000000000000000000000');
    expect(formatCsvNumber(1.0823)).toBe('1.0823');
  });

  test('what export writes, import reads back to the same tick', () => {
    for (const price of [1e-7, 0.30000000000000004, 98765.4321]) {
      expect(parse(['A', formatCsvNumber(price), TS]).tick?.price).toBe(price);
    }
  });
});

describe('guardCsvText / unguardCsvText (spreadsheet formula guard)', () => {
  test('text starting like a formula gets a leading quote; other text is left alone', () => {
    expect(guardCsvText('=HYPERLINK("x")')).toBe(`'=HYPERLINK("x")`);
    for (const t of ['+1', '-1', '@A1', '\tx', '\rx']) expect(guardCsvText(t)).toBe(`'${t}`);
    for (const t of ['abc', '42', '', "'", "'x", 'a=b', ' =x']) expect(guardCsvText(t)).toBe(t);
    // Text that would read as guarded is guarded too, so the import can undo exactly.
    expect(guardCsvText("'=x")).toBe("''=x");
    expect(guardCsvText("''")).toBe("'''");
  });

  test('unguard undoes guard for every text (a left inverse: no two ids meet)', () => {
    const alphabet = ["'", '=', '+', '-', '@', '\t', 'a', '1', ' '];
    const texts = [''];
    for (let len = 1; len <= 4; len++) for (const t of texts.filter((x) => x.length === len - 1)) for (const c of alphabet) texts.push(t + c);
    const guarded = new Set<string>();
    for (const t of texts) {
      expect(unguardCsvText(guardCsvText(t)), JSON.stringify(t)).toBe(t);
      guarded.add(guardCsvText(t));
    }
    expect(guarded.size).toBe(texts.length);
  });

  test('the importer takes the guard off an id, and leaves a lone quote alone', () => {
    expect(parse(['EUR/USD_otc', '1.5', TS, "'=1+1"]).tick?.id).toBe('=1+1');
    expect(parse(['EUR/USD_otc', '1.5', TS, "''x"]).tick?.id).toBe("'x");
    expect(parse(['EUR/USD_otc', '1.5', TS, "'x"]).tick?.id).toBe("'x");
  });
});

describe('firstInvalidByte (UTF-8)', () => {
  test('finds the first byte that is not UTF-8', () => {
    expect(firstInvalidByte(Buffer.from('plain ascii, ünïcödé ✓ 😀', 'utf8'))).toBe(-1);
    expect(firstInvalidByte(Buffer.from('caf\xe9!', 'latin1'))).toBe(3);
    expect(firstInvalidByte(Uint8Array.from([0x41, 0xc0, 0x80]))).toBe(1); // overlong
    expect(firstInvalidByte(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0); // an encoded surrogate
    expect(firstInvalidByte(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // past U+10FFFF
    expect(firstInvalidByte(Uint8Array.from([0x41, 0xe2, 0x9c]))).toBe(1); // cut short
    expect(firstInvalidByte(Uint8Array.from([0xff]))).toBe(0);
  });
});

describe('parseTimeArg (--from / --to)', () => {
  test('ISO dates and date-times; no offset means UTC', () => {
    expect(parseTimeArg('--from', '2024-11-22')).toBe(Date.UTC(2024, 10, 22));
    expect(parseTimeArg('--from', '2024-11-22T18:26:40Z')).toBe(1_732_300_000_000);
    expect(parseTimeArg('--from', '2024-11-22T18:26:40.123Z')).toBe(1_732_300_000_123);
    expect(parseTimeArg('--from', '2024-11-22T18:26:40')).toBe(1_732_300_000_000);
    expect(parseTimeArg('--from', '2024-11-22T19:26:40+01:00')).toBe(1_732_300_000_000);
    expect(parseTimeArg('--from', '2024-11-22T17:56:40-0030')).toBe(1_732_300_000_000);
    expect(parseTimeArg('--from', '2024-11-22T18:26')).toBe(1_732_299_960_000);
  });

  test('digits only are epoch milliseconds', () => {
    expect(parseTimeArg('--to', '1732300000123')).toBe(1_732_300_000_123);
    expect(parseTimeArg('--to', '0')).toBe(0);
  });

  test('anything else is an error naming the flag and the value', () => {
    for (const bad of ['yesterday', '2024-02-30', '2024-13-01', '2024-11-22T25:00Z', '22/11/2024', '', '1.5', 'Nov 22 2024', '99999999999999999999']) {
      expect(() => parseTimeArg('--from', bad), bad).toThrow(TimeArgError);
    }
    expect(() => parseTimeArg('--from', 'yesterday')).toThrow(/--from "yesterday": expected an ISO 8601 date/);
  });
});
