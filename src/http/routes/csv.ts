import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { UnavailableError, ValidationError } from '../../core/errors.js';
import { toSymbol } from '../../core/pair.js';
import { exportPairCsv, parseTimeArg, TimeArgError } from '../../csv/csv-export.js';
import { CsvFileError, formatLineIssue, importCsv, refreshCandleCache, type ImportResult } from '../../csv/csv-import.js';
import { databaseCall, isUnavailable } from '../../db/database-call.js';
import { byteLimit, stallGuard, StalledError, TooLargeError } from '../../lib/stream-guards.js';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../redis/connection.js';
import type { RedisKeys } from '../../redis/keys.js';
import type { PairRegistry } from '../../redis/pair-registry.js';
import type { ImportErrorResponse, ImportResponse } from '../../shared/http.js';
import { bearerGuard } from '../bearer.js';
import { requirePair } from '../query.js';
import { exemptFromRequestTimeout, STREAMED_ROUTE, type HttpLimits } from '../request-limits.js';

export interface CsvRoutesDeps {
  pool: pg.Pool;
  registry: PairRegistry;
  /** For dropping the candle caches of the pairs an import added ticks to. */
  redis: RedisClient;
  keys: RedisKeys;
  /** When set, POST /api/import needs it (like POST /api/ticks). */
  ingestToken: string | undefined;
  /** IMPORT_MAX_BYTES. */
  importMaxBytes: number;
  limits: Pick<HttpLimits, 'streamIdleMs' | 'importMaxMs'>;
  /** Resolves once the schema is in place. */
  schemaReady: Promise<unknown>;
  log: Logger;
}

/** Exports at once per process: each holds a database connection (the pool has 5) for as long as it streams. */
const MAX_EXPORTS = 2;
/** How often a long import logs its progress. */
const PROGRESS_LOG_MS = 5000;

const bodyIssue = (message: string) => [{ index: 0, field: 'body', message }];

/** Thrown when the import's bound on time is reached. */
class ImportTimeoutError extends Error {}

/**
 * POST /api/import and GET /api/export: the CLI's CSV import and export (src/csv/), over HTTP,
 * streamed both ways. The upload is read at the pace of the inserts, never held whole; the export
 * streams from a database cursor.
 */
export async function registerCsvRoutes(app: FastifyInstance, deps: CsvRoutesDeps): Promise<void> {
  // A scope of its own: only here is a text/csv body taken, and as a stream (elsewhere: 415).
  await app.register(async (scope) => {
    scope.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
    let importing = false;
    scope.post(
      '/api/import',
      { onRequest: [bearerGuard(deps.ingestToken, 'INGEST_TOKEN'), (request, reply) => checkUpload(request, reply, deps.importMaxBytes)] },
      async (request, reply) => {
        const skipInvalid = parseFlag((request.query as Record<string, unknown>).skipInvalid, 'skipInvalid');
        // One at a time: each holds a transaction and a connection, and two on the same pairs would wait on each other.
        if (importing) throw new UnavailableError('Another CSV import is running on this server; retry when it has finished', 10);
        importing = true;
        try {
          return await runImport(request, reply, deps, skipInvalid);
        } finally {
          importing = false;
        }
      },
    );
  });

  let exporting = 0;
  app.get('/api/export', { config: STREAMED_ROUTE }, async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const pair = requirePair(q.pair);
    const from = timeParam(q.from, 'from');
    const to = timeParam(q.to, 'to');
    if (from !== null && to !== null && from > to) {
      throw new ValidationError('Invalid query parameter "from"', [{ index: 0, field: 'from', message: 'must not be after to' }]);
    }
    if (exporting >= MAX_EXPORTS) throw new UnavailableError(`${MAX_EXPORTS} CSV exports are running on this server; retry when one has finished`, 10);
    exporting++;
    // The rows pass through the guard to the answer: a client that stops reading (or a cursor that stops) is cut.
    const out = stallGuard(deps.limits.streamIdleMs);
    let ready!: (stored: string) => void;
    const started = new Promise<string>((resolve) => (ready = resolve));
    const done = databaseCall(() => exportPairCsv(deps.pool, { pair, from, to, out, onReady: ready }), deps.schemaReady).finally(() => exporting--);
    // Before the first byte: the database must be there (else a 503 while the status can still say so).
    let stored: string;
    try {
      stored = await Promise.race([started, done.then(() => started)]);
    } catch (err) {
      out.destroy();
      throw err;
    }
    done.then(
      ({ rows }) => deps.log.debug({ pair: stored, rows }, 'csv export finished'),
      (err: Error) => {
        // The status is sent: a cut answer (no final chunk) is how the client learns.
        deps.log.warn({ pair: stored, err: err.message }, 'csv export stopped before the end');
        out.destroy(err);
      },
    );
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="${exportFileName(stored, from, to)}"`);
    return reply.send(out);
  });
}

/** Before the body is read: CSV only, within the size bound; and the upload is spared Node's 30 s request timeout. */
async function checkUpload(request: FastifyRequest, reply: FastifyReply, maxBytes: number): Promise<FastifyReply | undefined> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'text/csv') {
    return reply.code(415).send({
      error: `Content-Type must be text/csv${type ? `, not ${type}` : ''}`,
      details: bodyIssue('must be CSV (Content-Type: text/csv)'),
    });
  }
  const length = Number(request.headers['content-length'] ?? 0);
  if (length > maxBytes) return reply.code(413).send(tooLarge(maxBytes));
  exemptFromRequestTimeout(request.raw);
  return undefined;
}

async function runImport(request: FastifyRequest, reply: FastifyReply, deps: CsvRoutesDeps, skipInvalid: boolean): Promise<FastifyReply> {
  const { log, limits } = deps;
  const body = (request.body as Readable | undefined) ?? null;
  const limit = byteLimit(deps.importMaxBytes);
  const input = stallGuard(limits.streamIdleMs);
  // Kept by the stream until the import reads it (an early error must not go unheard).
  input.on('error', () => undefined);
  // Errors of the body and its limit end the read; the request itself is left for the answer (and its lingering close).
  if (body) {
    body.on('error', (err) => input.destroy(err));
    limit.on('error', (err) => {
      body.unpipe(limit);
      input.destroy(err);
    });
    body.pipe(limit).pipe(input);
  } else input.end();

  // A client gone, or the time bound reached, rolls the transaction back.
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort(new Error('the client went away'));
  });
  const timer = setTimeout(() => abort.abort(new ImportTimeoutError()), limits.importMaxMs);
  const length = request.headers['content-length'];
  const totalBytes = length === undefined ? null : Number(length);
  const started = Date.now();
  let lastLog = started;
  let result: ImportResult;
  try {
    result = await databaseCall(
      () =>
        importCsv(deps.pool, {
          input,
          totalBytes,
          skipInvalid,
          registry: deps.registry,
          log,
          signal: abort.signal,
          onProgress: (p) => {
            const now = Date.now();
            if (now - lastLog < PROGRESS_LOG_MS) return;
            lastLog = now;
            log.info({ bytes: p.bytes, totalBytes: p.totalBytes, lines: p.records, linesPerS: Math.round((p.records * 1000) / (now - started)) }, 'csv import progress');
          },
        }),
      deps.schemaReady,
    );
  } catch (err) {
    return importFailed(err, reply, deps);
  } finally {
    clearTimeout(timer);
    input.destroy();
  }

  const invalidLines = result.reported.map(formatLineIssue);
  if (!result.committed) {
    const answer: ImportErrorResponse = {
      error: `${result.invalid} invalid line${result.invalid === 1 ? '' : 's'}; nothing was imported (fix ${result.invalid === 1 ? 'it' : 'them'}, or send again with ?skipInvalid=true to import the ${result.valid} valid line${result.valid === 1 ? '' : 's'} only)`,
      details: result.reported.flatMap((l) => l.issues.map((i) => ({ index: l.line, field: i.field, message: i.message }))).slice(0, 100),
      invalid: result.invalid,
      valid: result.valid,
      invalidLines,
    };
    return reply.code(400).send(answer);
  }
  const answer: ImportResponse = { imported: result.inserted, duplicates: result.duplicates, invalid: result.invalid, invalidLines };
  if (result.touchedPairs.length > 0) {
    try {
      await refreshCandleCache(deps.redis, deps.keys, result.touchedPairs);
    } catch (err) {
      answer.warning = `could not refresh the candle cache (${(err as Error).message}): cached candles of ${result.touchedPairs.join(', ')} may be stale until they expire`;
    }
  }
  log.info({ imported: answer.imported, duplicates: answer.duplicates, invalid: answer.invalid, ms: Date.now() - started }, 'csv import finished');
  return reply.code(200).send(answer);
}

/** The answer to an import that failed before it could commit (nothing was written). */
function importFailed(err: unknown, reply: FastifyReply, deps: CsvRoutesDeps): FastifyReply {
  if (err instanceof CsvFileError) {
    const answer: ImportErrorResponse = { error: `nothing imported: ${err.message}`, details: bodyIssue(err.message), invalid: 0, valid: 0, invalidLines: [] };
    return reply.code(400).send(answer);
  }
  if (err instanceof TooLargeError) return reply.code(413).send(tooLarge(deps.importMaxBytes));
  if (err instanceof StalledError) {
    reply.header('connection', 'close');
    return reply.code(408).send({ error: `The upload stopped: nothing came for ${Math.round(err.ms / 1000)} s; nothing was imported` });
  }
  if (err instanceof ImportTimeoutError) {
    reply.header('connection', 'close');
    return reply.code(408).send({ error: `The import did not finish within ${Math.round(deps.limits.importMaxMs / 60_000)} min; nothing was imported` });
  }
  if (reply.raw.destroyed || reply.raw.writableEnded) {
    deps.log.info({ err: (err as Error).message }, 'csv import stopped: the client went away; nothing was imported');
    return reply;
  }
  if (err instanceof UnavailableError) throw err;
  if (isUnavailable(err)) throw new UnavailableError(`Redis or the database is not reachable: ${(err as Error).message}`, 5);
  throw err;
}

function tooLarge(maxBytes: number) {
  return { error: `The CSV is larger than ${maxBytes} bytes (IMPORT_MAX_BYTES); nothing was imported`, details: bodyIssue(`must be at most ${maxBytes} bytes`) };
}

/** `true`/`false` (or 1/0, absent: false). */
function parseFlag(value: unknown, field: string): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new ValidationError(`Invalid query parameter "${field}"`, [{ index: 0, field, message: 'must be true or false' }]);
}

/** `from` / `to` as the CLI takes them: epoch ms, or an ISO 8601 date or date-time (UTC unless it has an offset). */
function timeParam(value: unknown, field: 'from' | 'to'): number | null {
  if (value === undefined || value === '') return null;
  try {
    if (typeof value !== 'string') throw new TimeArgError('must be given once');
    return parseTimeArg(field, value);
  } catch (err) {
    if (!(err instanceof TimeArgError)) throw err;
    throw new ValidationError(`Invalid query parameter "${field}"`, [{ index: 0, field, message: err.message }]);
  }
}

/** `EURUSD_otc.csv`, or with the range: `EURUSD_otc_20241122T180000Z_20241122T190000Z.csv` (only safe characters). */
function exportFileName(pair: string, from: number | null, to: number | null): string {
  const stamp = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, ''));
  const range = from === null && to === null ? '' : `_${stamp(from) || 'start'}_${stamp(to) || 'end'}`;
  return `${toSymbol(pair)}${range}.csv`;
}
