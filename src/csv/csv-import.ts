/**
 * CSV import, for `quflx import <file.csv>` and `POST /api/import` alike: one streaming pass over
 * the bytes (a file or a request body), every line checked against the tick contract, all rows
 * written in ONE transaction through the same dedup insert the persister uses. Any invalid line
 * rolls everything back unless the caller allows skipping them. Memory stays flat: at most two
 * batches of rows are held, whatever the size of the input.
 */
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import type pg from 'pg';
import { CandleStore } from '../redis/candle-store.js';
import { connectRedis, detectRedisTarget, type RedisClient, type RedisTarget } from '../redis/connection.js';
import type { FieldIssue } from '../core/errors.js';
import type { Tick } from '../core/tick.js';
import { TIMEFRAMES } from '../core/timeframe.js';
import { insertTicks, toRow } from '../db/tick-repository.js';
import type { Logger } from '../observability/logger.js';
import { keysFor, type RedisKeys } from '../redis/keys.js';
import type { PairRegistry } from '../redis/pair-registry.js';
import { MAX_REPORTED_IMPORT_LINES } from '../shared/limits.js';
import { CsvHeaderError, csvLayout, parseCsvTick, type CsvLayout } from './csv-tick.js';
import { NotUtf8Error, strictUtf8 } from './strict-utf8.js';

/**
 * Rows per insert. Kept below COPY_THRESHOLD on purpose: measured on 1M rows (2 cores, loopback),
 * 10k-row `unnest` batches imported about 80k lines/s, 20k-row batches (the COPY path) about 33k/s.
 */
export const IMPORT_BATCH_ROWS = 10_000;
/** Invalid lines kept in full for the report; the rest are only counted. */
export const MAX_REPORTED_LINES = MAX_REPORTED_IMPORT_LINES;
/**
 * The longest record (line) taken, in bytes. A tick line is under 300; this leaves room for other
 * columns and stops a line with no end (a 1 GB line) long before memory does.
 */
export const MAX_RECORD_BYTES = 64 * 1024;

/** One invalid line of the file and everything wrong with it. */
export interface LineIssue {
  line: number;
  issues: FieldIssue[];
}

export interface ImportProgress {
  /** Bytes of the input read so far. */
  bytes: number;
  /** The input's size when known (a file, a request with a Content-Length), else null. */
  totalBytes: number | null;
  /** Records (tick lines) seen so far, valid or not. */
  records: number;
}

export interface ImportOptions {
  /** The CSV bytes: a file's read stream, a request body. Read once, at the pace of the inserts. */
  input: Readable;
  /** The input's size when known, for progress. */
  totalBytes: number | null;
  /** Write the valid lines even when some are invalid (else: nothing is written). */
  skipInvalid: boolean;
  batchRows?: number;
  maxReported?: number;
  /** Called about every 1000 records, and once at the end. */
  onProgress?: (p: ImportProgress) => void;
  /** One instrument per symbol: ticks are stored under their pair's canonical name. */
  registry: PairRegistry;
  /** Aborting rolls the transaction back and rejects with the signal's reason. */
  signal?: AbortSignal;
  log: Logger;
}

export interface ImportResult {
  /** Tick records in the file (the header and empty lines not counted). */
  records: number;
  valid: number;
  /** Rows that were new to the table. */
  inserted: number;
  /** Valid rows whose identity was stored already (earlier import, live feed, or twice in this file). */
  duplicates: number;
  invalid: number;
  /** The first `maxReported` invalid lines, in line order. */
  reported: LineIssue[];
  /** False when invalid lines (without skipInvalid) rolled everything back. */
  committed: boolean;
  /** Pairs that got new rows: their candle caches are stale now. */
  touchedPairs: string[];
}

/** The file itself cannot be imported: no header, a missing column, broken CSV quoting. */
export class CsvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvFileError';
  }
}

/** Lines a record spans beyond its last one (quoted fields with line breaks in them). */
function extraLines(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) {
    for (let at = f.indexOf('\n'); at >= 0; at = f.indexOf('\n', at + 1)) n++;
  }
  return n;
}

/** Counts the bytes that pass. */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * Imports the CSV read from `options.input` into historical_ticks on one pooled client, in one
 * transaction. Returns the counts; throws CsvFileError for input that is not a tick CSV at all,
 * and the input's own error (a size limit, a client gone) as it is, after rolling back.
 */
export async function importCsv(pool: pg.Pool, options: ImportOptions): Promise<ImportResult> {
  const batchRows = options.batchRows ?? IMPORT_BATCH_ROWS;
  const maxReported = options.maxReported ?? MAX_REPORTED_LINES;
  const { signal, input, totalBytes } = options;
  const counter = new ByteCounter();
  const utf8 = strictUtf8();
  const parser = parse({ bom: true, info: true, skip_empty_lines: true, relax_column_count: true, max_record_size: MAX_RECORD_BYTES });

  const result: ImportResult = {
    records: 0,
    valid: 0,
    inserted: 0,
    duplicates: 0,
    invalid: 0,
    reported: [],
    committed: false,
    touchedPairs: [],
  };
  const touched = new Set<string>();
  const progress = () => options.onProgress?.({ bytes: counter.bytes, totalBytes, records: result.records });

  const client = await pool.connect();
  let clientBroken = false;
  // One insert in flight while the next batch is parsed; its failure surfaces at the next await.
  let inFlight: Promise<void> | null = null;
  let batch: { tick: Tick; line: number }[] = [];
  const invalid = (line: number, issues: FieldIssue[]) => {
    result.invalid++;
    if (result.reported.length < maxReported) result.reported.push({ line, issues });
  };
  const flush = async () => {
    if (inFlight) await inFlight;
    inFlight = null;
    if (batch.length === 0) return;
    const entries = batch;
    batch = [];
    // Stored under the canonical names; a pair that would be new past MAX_PAIRS makes its lines invalid.
    const { ticks, refused } = await options.registry.canonicalize(
      entries.map((e) => e.tick),
      'some',
    );
    for (const i of refused) {
      const { tick, line } = entries[i]!;
      result.valid--;
      invalid(line, [
        { index: line, field: 'pair', message: `${JSON.stringify(tick.pair)} would be a new pair past MAX_PAIRS (${options.registry.maxPairs} pairs)` },
      ]);
    }
    const pairs = new Set(ticks.map((t) => t.pair));
    const p = insertTicks(client, ticks.map((t) => toRow(t))).then((n) => {
      result.inserted += n;
      if (n > 0) for (const pair of pairs) touched.add(pair);
    });
    p.catch(() => undefined);
    inFlight = p;
  };

  try {
    await client.query('BEGIN');
    if (signal?.aborted) throw signal.reason;
    // An abort also ends a read that waits for input that does not come.
    signal?.addEventListener('abort', () => parser.destroy(signal.reason as Error), { once: true });
    // The first error of any stage (the input's own too, even one from before this call) ends the parse with it.
    pipeline(input, counter, utf8, parser, (err) => {
      if (err) parser.destroy(err);
    });

    let layout: CsvLayout | null = null;
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (signal?.aborted) throw signal.reason;
      const line = info.lines - extraLines(record);
      if (layout === null) {
        try {
          layout = csvLayout(record);
        } catch (err) {
          if (err instanceof CsvHeaderError) throw new CsvFileError(`line ${line}: ${err.message}`);
          throw err;
        }
        continue;
      }
      result.records++;
      const issues: FieldIssue[] = [];
      const tick = parseCsvTick(record, layout, line, Date.now(), issues);
      if (tick === null) invalid(line, issues);
      else {
        result.valid++;
        // Once the import is bound to roll back, writing more is pointless: only keep checking.
        if (options.skipInvalid || result.invalid === 0) {
          batch.push({ tick, line });
          if (batch.length >= batchRows) await flush();
        }
      }
      if (result.records % 1000 === 0) progress();
    }
    if (layout === null) {
      throw new CsvFileError('the file is empty: it must start with the header line pair,price,timestamp');
    }
    await flush();
    await flush(); // waits for the last batch
    progress();
    if (signal?.aborted) throw signal.reason;

    result.duplicates = result.valid - result.inserted;
    if (result.invalid > 0 && !options.skipInvalid) {
      await client.query('ROLLBACK');
      result.inserted = 0;
      result.duplicates = 0;
      touched.clear();
    } else {
      await client.query('COMMIT');
      result.committed = true;
    }
  } catch (err) {
    if (inFlight) await (inFlight as Promise<void>).catch(() => undefined);
    parser.destroy();
    await client.query('ROLLBACK').catch(() => {
      clientBroken = true;
    });
    if (err instanceof NotUtf8Error) throw new CsvFileError(err.message);
    const csvErr = err as CsvError & { lines?: number };
    if (csvErr?.code === 'CSV_MAX_RECORD_SIZE') {
      throw new CsvFileError(`line ${csvErr.lines}: the line is longer than ${MAX_RECORD_BYTES} bytes (a tick line is under 300); is this a tick CSV?`);
    }
    if (typeof csvErr?.code === 'string' && csvErr.code.startsWith('CSV_')) {
      throw new CsvFileError(`malformed CSV: ${csvErr.message}`);
    }
    throw err;
  } finally {
    client.release(clientBroken);
  }
  result.reported.sort((a, b) => a.line - b.line);
  result.touchedPairs = [...touched].sort();
  options.log.debug({ ...result, reported: undefined }, 'csv import finished');
  return result;
}

/** `line 7: price must be ...; timestamp is required` */
export function formatLineIssue(l: LineIssue): string {
  return `line ${l.line}: ${l.issues.map((i) => `${i.field} ${i.message}`).join('; ')}`;
}

/**
 * A Redis connection for the CLI and the key names on it, or null when Redis cannot be reached
 * within a few seconds (the import still works: pair names then come from the database alone).
 */
export async function connectCliRedis(redisUrl: string, tlsCa: string | undefined, prefix: string, log: Logger): Promise<{ redis: RedisClient; keys: RedisKeys } | null> {
  let target: RedisTarget;
  try {
    target = await detectRedisTarget(redisUrl, tlsCa);
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'redis unreachable from the csv import');
    return null;
  }
  return { redis: await connectRedis(target, 'quflx-cli', log), keys: keysFor(prefix, target) };
}

/**
 * Deletes `historical:<SYM>:<TF>` and the candle state behind it (`cstate:<SYM>:<TF>`, which live
 * ticks keep rendering into the view while it exists) for every timeframe of every pair, so the
 * next candle request reads the database (and refills the cache) with the imported ticks in.
 * One DEL per key, so it also works on Redis Cluster. Returns how many keys were deleted.
 */
export async function refreshCandleCache(redis: RedisClient, keys: RedisKeys, pairs: readonly string[]): Promise<number> {
  if (pairs.length === 0) return 0;
  const store = new CandleStore(redis, keys);
  const deleted = await Promise.all(pairs.map((pair) => store.invalidate(pair, TIMEFRAMES)));
  return deleted.reduce((a, b) => a + b, 0);
}
