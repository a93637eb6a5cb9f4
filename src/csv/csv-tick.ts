/**
 * CSV <-> tick, pure: no I/O. A CSV field is always text, so the numbers are read strictly here
 * (a price must be written as a plain decimal number, a timestamp as an integer) and the result
 * then goes through the same contract rules as every other tick (validateTick).
 */
import type { FieldIssue } from '../core/errors.js';
import type { Tick } from '../core/tick.js';
import { validateTick } from '../core/tick-validation.js';

/** The columns a tick CSV has, in the order export writes them. `id` is optional on import. */
export const CSV_COLUMNS = ['pair', 'price', 'timestamp', 'id'] as const;
const REQUIRED_COLUMNS = ['pair', 'price', 'timestamp'] as const;
const FIELD_ORDER = ['record', 'pair', 'price', 'timestamp', 'id'];

/** Where each known column sits in a record, from the header line. */
export interface CsvLayout {
  pair: number;
  price: number;
  timestamp: number;
  /** Absent: the file has no id column. */
  id: number | undefined;
  /** How many fields the header names (a record with more is an error). */
  width: number;
}

/** The header line does not name the columns a tick needs. */
export class CsvHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvHeaderError';
  }
}

/**
 * Reads the header record. Names are matched case-insensitively, ignoring surrounding spaces;
 * columns other than pair, price, timestamp and id are ignored (like unknown JSON fields).
 */
export function csvLayout(header: readonly string[]): CsvLayout {
  const names = header.map((h) => h.trim().toLowerCase());
  const index = (name: string): number | undefined => {
    const at = names.indexOf(name);
    if (at >= 0 && names.indexOf(name, at + 1) >= 0) throw new CsvHeaderError(`the header names the column "${name}" twice`);
    return at >= 0 ? at : undefined;
  };
  const missing = REQUIRED_COLUMNS.filter((c) => index(c) === undefined);
  if (missing.length > 0) {
    throw new CsvHeaderError(
      `the header line must name the columns pair,price,timestamp (and optionally id); missing: ${missing.join(', ')}` +
        ` (found: ${header.map((h) => JSON.stringify(h)).join(',') || 'nothing'})`,
    );
  }
  return { pair: index('pair')!, price: index('price')!, timestamp: index('timestamp')!, id: index('id'), width: header.length };
}

/** A plain decimal number: optional sign, digits with an optional fraction. No exponent, hex, `_`, Infinity. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
/** An integer: optional sign, digits. */
const INTEGER = /^[+-]?\d+$/;

/** A field's text as shown in a message: quoted, and cut short when long. */
function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/**
 * Turns one CSV record (its fields, laid out as the header says) into a tick, or pushes one issue
 * per broken rule into `issues` (with `index` = `line`) and returns null.
 *
 * - `pair` and `id` are taken verbatim (an id is identity: `" 7"` and `"7"` are different ids),
 *   except that the formula guard export puts in front of an id is taken off (unguardCsvText);
 *   an empty id field means "no id".
 * - `price` and `timestamp` may have spaces around them; otherwise `price` must be a plain
 *   decimal number (`1.0823`; not `1e3`, `0x10`, `1,5`) and `timestamp` an integer of ms.
 */
export function parseCsvTick(fields: readonly string[], layout: CsvLayout, line: number, nowMs: number, issues: FieldIssue[]): Tick | null {
  const before = issues.length;
  const issue = (field: string, message: string) => issues.push({ index: line, field, message });
  if (fields.length > layout.width) {
    issue('record', `has ${fields.length} fields but the header names ${layout.width}`);
  }
  const raw: Record<string, unknown> = {};
  /** Fields already found broken here; validateTick's view of them is dropped. */
  const flagged = new Set<string>();

  const pair = fields[layout.pair];
  if (pair !== undefined && pair !== '') raw.pair = pair;

  const price = fields[layout.price]?.trim();
  if (price !== undefined && price !== '') {
    if (DECIMAL.test(price)) raw.price = Number(price);
    else {
      issue('price', `must be a decimal number like 1.0823, got ${shown(price)}`);
      flagged.add('price');
    }
  }

  const timestamp = fields[layout.timestamp]?.trim();
  if (timestamp !== undefined && timestamp !== '') {
    if (INTEGER.test(timestamp)) raw.timestamp = Number(timestamp);
    else {
      issue('timestamp', `must be an integer of milliseconds since epoch, got ${shown(timestamp)}`);
      flagged.add('timestamp');
    }
  }

  const id = layout.id === undefined ? undefined : fields[layout.id];
  if (id !== undefined && id !== '') raw.id = unguardCsvText(id);

  const contract: FieldIssue[] = [];
  const tick = validateTick(raw, line, nowMs, contract);
  for (const i of contract) if (!flagged.has(i.field)) issues.push(i);
  if (issues.length === before) return tick;
  // Report in column order, whichever check found the problem.
  const found = issues.splice(before).sort((a, b) => FIELD_ORDER.indexOf(a.field) - FIELD_ORDER.indexOf(b.field));
  issues.push(...found);
  return null;
}

/**
 * A price or timestamp as CSV text that reads back to exactly the same number: JavaScript's
 * shortest round-trip digits, with an exponent (`1e-7`, `1e+21`) written out as a plain decimal,
 * since the importer takes plain decimals only.
 */
export function formatCsvNumber(n: number): string {
  const text = String(n);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  // Position of the decimal point within `digits` after applying the exponent.
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * Text a spreadsheet would run as a formula: starting with `=`, `+`, `-`, `@`, tab or carriage
 * return (OWASP's CSV injection list).
 */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Text that reads as already guarded: a `'` before a formula start or another `'`. */
const GUARDED = /^'[=+\-@\t\r']/;

/**
 * Guards a text field for spreadsheets (OWASP CSV injection): one `'` goes in front of text that
 * starts like a formula, and in front of text that would otherwise read as guarded, so that
 * unguardCsvText undoes exactly what this added: unguard(guard(x)) === x for every x.
 */
export function guardCsvText(text: string): string {
  return FORMULA_START.test(text) || GUARDED.test(text) ? `'${text}` : text;
}

/** Takes off the `'` that guardCsvText put in front; any other text is left as it is. */
export function unguardCsvText(text: string): string {
  return GUARDED.test(text) ? text.slice(1) : text;
}
