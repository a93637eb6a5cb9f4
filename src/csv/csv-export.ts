/**
 * CSV export, for `quflx export --pair P [--from] [--to] [--out]` and `GET /api/export` alike: a
 * pair's stored ticks, in time order, as CSV that import reads back to identical rows. Rows come
 * from a server-side cursor and go out through a stream, so memory stays flat however many there are.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type pg from 'pg';
import { storedSpelling } from '../db/pair-repository.js';
import { streamTicks } from '../db/tick-repository.js';
import { CSV_COLUMNS, formatCsvNumber, guardCsvText } from './csv-tick.js';

export interface ExportOptions {
  pair: string;
  /** Inclusive epoch ms bounds; null: open. */
  from: number | null;
  to: number | null;
  out: Writable;
  /** Leave `out` open at the end (process.stdout). */
  keepOpen?: boolean;
  signal?: AbortSignal;
}

/**
 * Writes the CSV (header `pair,price,timestamp,id`; id empty when the tick has none, guarded
 * against spreadsheet formulas); returns the row count. `pair` is the stored (canonical) name.
 */
export async function exportCsv(client: pg.ClientBase, options: ExportOptions): Promise<number> {
  let rows = 0;
  const records = async function* () {
    for await (const t of streamTicks(client, options.pair, options.from, options.to)) {
      rows++;
      // Ids are the feed's text: guarded so a spreadsheet never runs one as a formula.
      yield [t.pair, formatCsvNumber(t.price), formatCsvNumber(t.timestamp), t.id === null ? '' : guardCsvText(t.id)];
    }
  };
  await pipeline(
    Readable.from(records()),
    // A guarded field is also quoted, as OWASP advises.
    stringify({ header: true, columns: [...CSV_COLUMNS], quoted_match: /^'/ }),
    options.out,
    { end: !options.keepOpen, ...(options.signal ? { signal: options.signal } : {}) },
  );
  return rows;
}

export interface PairExportOptions extends ExportOptions {
  /** Called once the database is ready to stream, with the pair's stored (canonical) name: headers can go out then. */
  onReady?: (pair: string) => void;
}

/**
 * Exports a pair given in any spelling (the one instrument, under its stored name): one snapshot,
 * the cursor inside a read-only transaction (a pooler in transaction mode needs that). Returns the
 * stored name and the row count.
 */
export async function exportPairCsv(pool: pg.Pool, options: PairExportOptions): Promise<{ pair: string; rows: number }> {
  const pair = await storedSpelling(pool, options.pair);
  const client = await pool.connect();
  let done = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    options.onReady?.(pair);
    const rows = await exportCsv(client, { ...options, pair });
    await client.query('COMMIT');
    done = true;
    return { pair, rows };
  } finally {
    // A cursor left open mid-stream: the connection is dropped rather than reused.
    client.release(!done);
  }
}

/** A --from / --to value that is neither an ISO 8601 date nor epoch milliseconds. */
export class TimeArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeArgError';
  }
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Epoch ms from `--from` / `--to`: digits only are epoch milliseconds; otherwise an ISO 8601
 * date (`2024-11-22`) or date-time (`2024-11-22T18:26:40.123Z`, `...+01:00`). A date or
 * date-time without an offset is UTC (like the candles), not the machine's local time.
 */
export function parseTimeArg(name: string, value: string): number {
  const text = value.trim();
  const fail = (): never => {
    throw new TimeArgError(
      `${name} ${JSON.stringify(value)}: expected an ISO 8601 date or date-time (2024-11-22, 2024-11-22T18:26:40Z) or epoch milliseconds`,
    );
  };
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (!Number.isSafeInteger(ms)) fail();
    return ms;
  }
  const m = ISO.exec(text);
  if (!m) return fail();
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)));
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const local = Date.UTC(year!, month! - 1, day!, hour, minute, second, millis);
  // Date.UTC rolls 2024-02-30 over to March 1st: a date that does not exist is an error.
  const d = new Date(local);
  if (
    Number.isNaN(local) ||
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month! - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    return fail();
  }
  const zone = m[8];
  let offsetMin = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const h = Number(z[2]);
    const mm = Number(z[3] ?? '0');
    if (h > 23 || mm > 59) fail();
    offsetMin = (z[1] === '-' ? -1 : 1) * (h * 60 + mm);
  }
  return local - offsetMin * 60_000;
}
