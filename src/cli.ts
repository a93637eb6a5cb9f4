/**
 * QuFLX command line: CSV import and export of historical ticks, and database figures.
 *
 *   npm run cli -- import <file.csv> [--skip-invalid]
 *   npm run cli -- export --pair <pair> [--from <time>] [--to <time>] [--out <file.csv>]
 *   npm run cli -- db stats [--limit 500MB] [--json]
 *   npm run cli -- db schema
 *
 * Exit status: 0 done; 1 nothing imported (invalid lines, not a tick CSV) or a failure; 2 bad usage.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { pino } from 'pino';
import { loadConfig, type Config, type LogLevel } from './config/config.js';
import { ConfigError } from './core/errors.js';
import { pairProblem } from './core/pair.js';
import { Database } from './db/database.js';
import { formatBytes, parseSize, readDbStats, sizeOutlook } from './db/db-stats.js';
import { migrate, pasteableSchema } from './db/migrate.js';
import { listStoredPairs } from './db/tick-pairs.js';
import { RedisKeys, redisDatabase } from './redis/keys.js';
import { PairRegistry } from './redis/pair-registry.js';
import { closeRedis } from './redis/connection.js';
import type { Logger } from './observability/logger.js';
import { openServices, type Services } from './runtime/services.js';
import { exportPairCsv, parseTimeArg, TimeArgError } from './csv/csv-export.js';
import { connectCliRedis, CsvFileError, formatLineIssue, importCsv, refreshCandleCache, type ImportProgress } from './csv/csv-import.js';

const USAGE = `Usage:
  npm run cli -- import <file.csv> [--skip-invalid]
  npm run cli -- export --pair <pair> [--from <time>] [--to <time>] [--out <file.csv>]
  npm run cli -- db stats [--limit <size>] [--json]
  npm run cli -- db schema

import   Adds the ticks of a UTF-8 CSV file (header: pair,price,timestamp and optionally id) to
         the database, in one transaction. Every line is checked; if any is invalid, nothing is
         written and the bad lines are listed, unless --skip-invalid is given. Ticks stored
         already are skipped, so importing a file twice adds nothing. Pairs are stored under
         their canonical spelling (the first seen of their symbol). The candle cache of the
         pairs that got new ticks is refreshed.
export   Writes a pair's stored ticks in time order as CSV (pair,price,timestamp,id) to --out
         or to standard output; --pair takes any spelling of the pair. Ids that a spreadsheet
         would run as formulas get a leading ' (import takes it off). --from and --to are
         inclusive; each is an ISO 8601 date or date-time (2024-11-22, 2024-11-22T18:26:40.123Z;
         UTC unless an offset is given) or epoch milliseconds.
db stats Stored ticks, bytes per tick on disk, ticks per day, the oldest and newest tick, and
         how many days until the database reaches --limit (500MB, 8GB, 1.5GiB; default
         500MB, Supabase's free tier) at the current rate. --json prints one JSON object.
db schema Prints the whole schema as one SQL script, to paste into Supabase's SQL editor.

Configuration comes from the environment: DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, MAX_PAIRS,
LOG_LEVEL (default warn). Unset URLs: the servers of a running QuFLX, else embedded ones.
Exit status: 0 done, 1 nothing imported or a failure, 2 bad usage.`;

/** A problem with the command line itself: usage is printed, exit status 2. */
class UsageError extends Error {}

type Command =
  | { kind: 'help' }
  | { kind: 'import'; file: string; skipInvalid: boolean }
  | { kind: 'export'; pair: string; from: number | null; to: number | null; out: string | null }
  | { kind: 'db-stats'; limit: number; json: boolean }
  | { kind: 'db-schema' };

/** Supabase's free tier. */
const DEFAULT_LIMIT = '500MB';

function parseCommand(argv: string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('no command given');
  if (name === 'help' || name === '--help' || name === '-h') return { kind: 'help' };
  const parsed = (options: Record<string, { type: 'string' | 'boolean' }>) => {
    try {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...options, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      });
      return { values: values as Record<string, string | boolean | undefined>, positionals };
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  if (name === 'import') {
    const { values, positionals } = parsed({ 'skip-invalid': { type: 'boolean' } });
    if (values.help) return { kind: 'help' };
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'import: which file? give one CSV file' : 'import: give exactly one CSV file');
    return { kind: 'import', file: positionals[0]!, skipInvalid: values['skip-invalid'] === true };
  }
  if (name === 'export') {
    const { values, positionals } = parsed({
      pair: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
    });
    if (values.help) return { kind: 'help' };
    if (positionals.length > 0) throw new UsageError(`export: unexpected argument ${JSON.stringify(positionals[0])}`);
    const pair = values.pair;
    if (typeof pair !== 'string') throw new UsageError('export: --pair is required');
    const problem = pairProblem(pair);
    if (problem) throw new UsageError(`export: --pair ${JSON.stringify(pair)} ${problem}`);
    const time = (flag: 'from' | 'to'): number | null => {
      const v = values[flag];
      if (typeof v !== 'string') return null;
      try {
        return parseTimeArg(`--${flag}`, v);
      } catch (err) {
        if (err instanceof TimeArgError) throw new UsageError(`export: ${err.message}`);
        throw err;
      }
    };
    const from = time('from');
    const to = time('to');
    if (from !== null && to !== null && from > to) {
      throw new UsageError(`export: --from (${new Date(from).toISOString()}) is after --to (${new Date(to).toISOString()})`);
    }
    const out = values.out;
    if (out === '') throw new UsageError('export: --out needs a file name');
    return { kind: 'export', pair, from, to, out: typeof out === 'string' ? out : null };
  }
  if (name === 'db') {
    const { values, positionals } = parsed({ limit: { type: 'string' }, json: { type: 'boolean' } });
    if (values.help) return { kind: 'help' };
    if (positionals.length === 1 && positionals[0] === 'schema') return { kind: 'db-schema' };
    if (positionals[0] !== 'stats' || positionals.length > 1) {
      throw new UsageError(positionals.length === 0 ? 'db: which command? (stats, schema)' : `db: unknown command ${JSON.stringify(positionals.join(' '))}`);
    }
    const raw = typeof values.limit === 'string' ? values.limit : DEFAULT_LIMIT;
    const limit = parseSize(raw);
    if (limit === null) throw new UsageError(`db stats: --limit ${JSON.stringify(raw)}: expected a size such as 500MB, 8GB or 1.5GiB`);
    return { kind: 'db-stats', limit, json: values.json === true };
  }
  throw new UsageError(`unknown command ${JSON.stringify(name)}`);
}

/** Logs go to stderr, so `export` to stdout stays pure CSV. */
function cliLogger(level: LogLevel): Logger {
  return pino({ level, base: { app: 'quflx-cli' } }, pino.destination({ fd: 2, sync: true }));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A progress bar with rate and ETA on a terminal; a plain line every 2 s otherwise (CI, logs). */
class ImportProgressView {
  private readonly started = Date.now();
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = this.started;

  constructor(
    private readonly totalBytes: number,
    private readonly tty: boolean,
  ) {
    if (tty) {
      this.bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: 'importing |{bar}| {percentage}% | {records} lines | {rate} lines/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 10,
      });
      this.bar.start(Math.max(totalBytes, 1), 0, { records: 0, rate: 0 });
    }
  }

  private rate(records: number): number {
    const s = (Date.now() - this.started) / 1000;
    return s > 0 ? Math.round(records / s) : 0;
  }

  update(p: ImportProgress): void {
    if (this.bar) {
      this.bar.update(p.bytes, { records: p.records, rate: this.rate(p.records) });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine < 2000) return;
    this.lastLine = now;
    const fraction = this.totalBytes > 0 ? p.bytes / this.totalBytes : 1;
    const elapsed = now - this.started;
    const eta = fraction > 0 ? (elapsed / fraction - elapsed) / 1000 : NaN;
    process.stderr.write(
      `importing: ${Math.floor(fraction * 100)}% | ${p.records} lines | ${this.rate(p.records)} lines/s | ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)} s` : '?'}\n`,
    );
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** The database (and Redis where `needs.redis`) as configured, borrowed or embedded; the schema migrated. */
async function openDatabase(config: Config, log: Logger, needs: { redis: boolean }): Promise<{ services: Services; db: Database }> {
  const services = await openServices(config, log, 'tool', needs);
  try {
    const db = new Database(services.databaseUrl, services.databaseKind, log);
    try {
      await migrate(db.pool, log);
      return { services, db };
    } catch (err) {
      await db.close();
      throw err;
    }
  } catch (err) {
    await services.close();
    throw err;
  }
}

async function runImport(cmd: Extract<Command, { kind: 'import' }>, config: Config, log: Logger, signal: AbortSignal): Promise<number> {
  try {
    const s = await stat(cmd.file);
    if (!s.isFile()) throw new UsageError(`import: ${cmd.file} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`import: cannot read ${cmd.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { services, db } = await openDatabase(config, log, { redis: true });
  const started = Date.now();
  // Without Redis the import still runs; the pair names then come from the database alone.
  const cli = await connectCliRedis(services.redisUrl, config.redisTlsCa, config.keyPrefix, log);
  const redis = cli?.redis ?? null;
  const keys = cli?.keys ?? new RedisKeys(config.keyPrefix, redisDatabase(services.redisUrl));
  let progress: ImportProgressView | null = null;
  try {
    const registry = new PairRegistry(redis, keys, { maxPairs: config.maxPairs });
    await registry.seedFrom(() => listStoredPairs(db.pool));
    const totalBytes = (await stat(cmd.file)).size;
    progress = new ImportProgressView(totalBytes, process.stderr.isTTY === true);
    const p = progress;
    const input = createReadStream(cmd.file);
    let result;
    try {
      result = await importCsv(db.pool, { input, totalBytes, skipInvalid: cmd.skipInvalid, registry, log, signal, onProgress: (x) => p.update(x) });
    } finally {
      input.destroy();
      progress.stop();
    }

    if (result.invalid > 0) {
      for (const l of result.reported) console.error(formatLineIssue(l));
      const rest = result.invalid - result.reported.length;
      if (rest > 0) console.error(`... and ${plural(rest, 'more invalid line')}`);
    }
    if (!result.committed) {
      console.error(
        `nothing imported: ${plural(result.invalid, 'invalid line')} in ${cmd.file}; fix ${result.invalid === 1 ? 'it' : 'them'}, or run again with --skip-invalid to import the ${plural(result.valid, 'valid line')} only`,
      );
      return 1;
    }

    if (result.touchedPairs.length > 0) {
      try {
        if (!redis) throw new Error('Redis unreachable');
        await refreshCandleCache(redis, keys, result.touchedPairs);
      } catch (err) {
        console.error(
          `warning: could not refresh the candle cache (${(err as Error).message || 'Redis unreachable'}): cached candles of ${result.touchedPairs.join(', ')} may be stale for up to ${config.candleCacheTtlS} s (CANDLE_CACHE_TTL_S)`,
        );
      }
    }
    const elapsed = Date.now() - started;
    const rate = elapsed > 0 ? Math.round((result.records / elapsed) * 1000) : result.records;
    console.log(
      `imported ${plural(result.inserted, 'new tick')}, ${plural(result.duplicates, 'duplicate')}, ${plural(result.invalid, 'invalid line')} skipped, in ${seconds(elapsed)} (${rate} lines/s)`,
    );
    return 0;
  } finally {
    progress?.stop();
    if (redis) await closeRedis(redis);
    await db.close();
    await services.close();
  }
}

async function runExport(cmd: Extract<Command, { kind: 'export' }>, config: Config, log: Logger, signal: AbortSignal): Promise<number> {
  const started = Date.now();
  const { services, db } = await openDatabase(config, log, { redis: false });
  // A file is written under a temporary name and renamed when complete: never a half export.
  const partial = cmd.out === null ? null : `${cmd.out}.${process.pid}.partial`;
  try {
    // Any spelling of the pair exports the one instrument, stored under its canonical name.
    let exported: { pair: string; rows: number };
    try {
      // One snapshot, the cursor inside a transaction (a pooler in transaction mode needs that).
      const out = partial === null ? process.stdout : createWriteStream(partial);
      exported = await exportPairCsv(db.pool, { pair: cmd.pair, from: cmd.from, to: cmd.to, out, keepOpen: partial === null, signal });
    } catch (err) {
      if (partial) await rm(partial, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0; // `| head`: the reader has had enough
      throw err;
    }
    const { pair, rows } = exported;
    if (cmd.out !== null && partial !== null) await rename(partial, cmd.out);
    console.error(`exported ${plural(rows, 'tick')} of ${pair}${cmd.out ? ` to ${cmd.out}` : ''} in ${seconds(Date.now() - started)}`);
    return 0;
  } finally {
    await db.close();
    await services.close();
  }
}

async function runDbStats(cmd: Extract<Command, { kind: 'db-stats' }>, config: Config, log: Logger): Promise<number> {
  const { services, db } = await openDatabase(config, log, { redis: false });
  try {
    const stats = await readDbStats(db.pool);
    const outlook = sizeOutlook(stats, cmd.limit);
    if (cmd.json) {
      const days = outlook.daysUntilLimit;
      console.log(JSON.stringify({ ...stats, ...outlook, limitBytes: cmd.limit, daysUntilLimit: days === Infinity ? null : days, levelsOffBelowLimit: days === Infinity }));
      return 0;
    }
    const n = (x: number) => Math.round(x).toLocaleString('en-US');
    const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC'));
    const lines: [string, string][] = [
      ['ticks stored', `${n(stats.ticks)} in ${plural(stats.partitions, 'day partition')}`],
      ['oldest tick', time(stats.oldest)],
      ['newest tick', time(stats.newest)],
      ['bytes per tick', stats.bytesPerTick === null ? '-' : `${stats.bytesPerTick.toFixed(1)} (${formatBytes(stats.tickBytes)}: heap, indexes and TOAST of the partitions, tick_pairs, tick_days)`],
      ['ticks per day', stats.ticksPerDay === null ? '- (no ticks in the last 7 days)' : `${n(stats.ticksPerDay)} (the last 7 days, or since the first tick)`],
      ['growth per day', outlook.growthPerDay === null ? '-' : `${formatBytes(outlook.growthPerDay)} of ticks`],
      ['candles', `${formatBytes(stats.rollupBytes)} of rollups (5 s and 1 min ones go with the ticks, hourly ones stay)`],
      ['database size', formatBytes(stats.databaseBytes)],
      [
        'retention',
        stats.retentionDays === null
          ? 'none: ticks are kept for good (TICK_RETENTION_DAYS unset)'
          : `${plural(stats.retentionDays, 'day')} (TICK_RETENTION_DAYS)${outlook.levelsOffAt === null ? '' : `: the database levels off at about ${formatBytes(outlook.levelsOffAt)}`}`,
      ],
      [`until ${formatBytes(cmd.limit)}`, untilText(outlook.daysUntilLimit)],
    ];
    for (const [k, v] of lines) console.log(`${k.padEnd(16)} ${v}`);
    for (const d of stats.days) console.log(`  ${d.day}  ${n(d.ticks).padStart(12)} ticks`);
    return 0;
  } finally {
    await db.close();
    await services.close();
  }
}

function untilText(days: number | null): string {
  if (days === null) return '- (no current rate)';
  if (days === Infinity) return 'never at this rate: the retention keeps it below';
  if (days === 0) return 'reached already';
  return days < 1 ? `${(days * 24).toFixed(1)} hours at the current rate` : `${days.toFixed(1)} days at the current rate`;
}

async function main(argv: string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (cmd.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (cmd.kind === 'db-schema') {
    process.stdout.write(await pasteableSchema());
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  // Quiet unless asked: the command's own output is the point.
  const log = cliLogger(process.env.LOG_LEVEL?.trim() ? config.logLevel : 'warn');

  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130); // a second Ctrl+C: stop now
    interrupted = true;
    console.error(`\n${signal}: stopping (nothing of an unfinished import is kept)`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (cmd.kind === 'db-stats') return await runDbStats(cmd, config, log);
    return cmd.kind === 'import' ? await runImport(cmd, config, log, controller.signal) : await runExport(cmd, config, log, controller.signal);
  } catch (err) {
    if (interrupted) return 130;
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof CsvFileError) {
      console.error(`nothing imported from ${cmd.kind === 'import' ? cmd.file : 'the file'}: ${err.message}`);
      return 1;
    }
    console.error(`error: ${(err as Error).message}`);
    log.debug({ err }, 'cli failure');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv.slice(2));
