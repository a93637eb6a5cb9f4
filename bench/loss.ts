import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createClient } from 'redis';
import { toSymbol } from '../src/core/pair.js';
import type { Tick } from '../src/core/tick.js';
import { validateTickBatch } from '../src/core/tick-validation.js';
import type { Ingestor } from '../src/ingest/ingestor.js';
import { paced, sleep } from './spans.js';
import type { RawTick, TickFactory } from './tick-factory.js';

/**
 * A live stream of unique ticks, round robin over the pairs: each tick has an id of its own and,
 * per pair, a timestamp of its own (now, or 1 ms after the pair's previous tick), so that the
 * seed's table, which keeps only (pair, price, ts), can still tell every tick apart.
 */
class UniqueStream {
  private readonly lastTs = new Map<string, number>();
  private turn = 0;

  constructor(
    private readonly factory: TickFactory,
    private readonly pairs: readonly string[],
  ) {}

  take(n: number): RawTick[] {
    const now = Date.now();
    const out: RawTick[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const pair = this.pairs[this.turn++ % this.pairs.length]!;
      const ts = Math.max(now, (this.lastTs.get(pair) ?? 0) + 1);
      this.lastTs.set(pair, ts);
      out[i] = this.factory.next(pair, ts);
    }
    return out;
  }
}

export interface LossResult {
  sent: number;
  /** Distinct ticks of the run found in the table. */
  stored: number;
  lost: number;
  /** Rows beyond one per tick (the seed has no identity key). */
  duplicates: number;
  sentRatePerS: number;
  /** From the last tick sent until the count was taken (the drain). */
  drainMs: number;
  /** Ticks the ingest path refused outright (a full ingest queue); they count as lost too. */
  refused: number;
}

/**
 * QuFLX at a live load: ticks go in through the Ingestor's feed path (offer, as the simulator and
 * the WebSocket feed do), the persister (already running, short BATCH_INTERVAL_MS) stores them;
 * once it has drained, ticks of the run missing from historical_ticks are lost.
 */
export async function measureOurLoss(options: {
  ingestor: Ingestor;
  factory: TickFactory;
  pairs: readonly string[];
  ratePerS: number;
  durationMs: number;
  pool: pg.Pool;
  /** Resolves true once the persist queue is empty and nothing is held unacknowledged. */
  drained: () => Promise<boolean>;
  drainTimeoutMs: number;
}): Promise<LossResult> {
  const stream = new UniqueStream(options.factory, options.pairs);
  const firstId = options.factory.nextId;
  let dropped = 0;
  const run = await paced(options.ratePerS, options.durationMs, (n) => {
    const ticks: Tick[] = validateTickBatch(stream.take(n), Date.now());
    dropped += ticks.length - options.ingestor.offer(ticks, 'bench');
  });
  const t0 = performance.now();
  await options.ingestor.drain(10_000);
  while (!(await options.drained()) && performance.now() - t0 < options.drainTimeoutMs) await sleep(20);
  const drainMs = performance.now() - t0;
  const lastId = options.factory.nextId - 1;
  const r = await options.pool.query<{ rows: number; ticks: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT feed_id)::int AS ticks FROM historical_ticks
     WHERE pair = ANY($1) AND feed_id ~ '^[0-9]+$' AND feed_id::int8 BETWEEN $2 AND $3`,
    [options.pairs, firstId, lastId],
  );
  const { rows, ticks } = r.rows[0]!;
  return { sent: run.sent, stored: ticks, lost: run.sent - ticks, duplicates: rows - ticks, sentRatePerS: run.sent / (run.wallMs / 1000), drainMs, refused: dropped };
}

/**
 * The seed's design at the same load: per tick LPUSH ticks:<SYM> json, LTRIM 0 999 and PUBLISH
 * (sent as they come, not one awaited command at a time, so the load is met); every `flushMs` a
 * flusher takes each pair's list with LRANGE 0 -1, then DEL, and inserts what it got into
 * baseline_ticks(pair, price, ts). After the run it flushes once more on its schedule; ticks of
 * the run that never reach the table are lost. Keys under `<prefix>baseline-loss:`.
 */
export async function measureBaselineLoss(options: {
  redisUrl: string;
  prefix: string;
  databaseUrl: string;
  factory: TickFactory;
  pairs: readonly string[];
  ratePerS: number;
  durationMs: number;
  flushMs?: number;
  bufferSize?: number;
}): Promise<LossResult> {
  const flushMs = options.flushMs ?? 2000;
  const cap = options.bufferSize ?? 1000;
  const keyPrefix = `${options.prefix}baseline-loss:`;
  const listKey = (pair: string) => `${keyPrefix}ticks:${toSymbol(pair)}`;
  const stream = new UniqueStream(options.factory, options.pairs);
  const ingest = createClient({ url: options.redisUrl, RESP: 2, commandOptions: { timeout: undefined } });
  const flusher = createClient({ url: options.redisUrl, RESP: 2, commandOptions: { timeout: undefined } });
  ingest.on('error', () => undefined);
  flusher.on('error', () => undefined);
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await Promise.all([ingest.connect(), flusher.connect(), db.connect()]);
  try {
    await db.query('CREATE TABLE IF NOT EXISTS baseline_ticks (pair VARCHAR(32), price DOUBLE PRECISION, ts BIGINT)');
    let flushing = Promise.resolve();
    const flushOnce = async () => {
      for (const pair of options.pairs) {
        const raw = await flusher.lRange(listKey(pair), 0, -1);
        await flusher.del(listKey(pair));
        if (raw.length === 0) continue;
        const ticks = raw.map((s) => JSON.parse(s) as Tick);
        await db.query('INSERT INTO baseline_ticks (pair, price, ts) SELECT * FROM unnest($1::varchar[], $2::float8[], $3::int8[])', [
          ticks.map((t) => t.pair),
          ticks.map((t) => t.price),
          ticks.map((t) => t.timestamp),
        ]);
      }
    };
    const timer = setInterval(() => {
      flushing = flushing.then(flushOnce).catch(() => undefined);
    }, flushMs);
    const writes: Promise<unknown>[] = [];
    const from = Date.now();
    const run = await paced(options.ratePerS, options.durationMs, (n) => {
      for (const tick of validateTickBatch(stream.take(n), Date.now())) {
        const json = JSON.stringify(tick);
        const key = listKey(tick.pair);
        writes.push(ingest.lPush(key, json), ingest.lTrim(key, 0, cap - 1), ingest.publish(`${keyPrefix}updates:${toSymbol(tick.pair)}`, json));
      }
    });
    await Promise.all(writes);
    const t0 = performance.now();
    // The flusher's next scheduled run takes what the last window left in the lists.
    await sleep(flushMs + 100);
    clearInterval(timer);
    await flushing;
    const drainMs = performance.now() - t0;
    const r = await db.query<{ rows: number; ticks: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT (pair, ts))::int AS ticks FROM baseline_ticks WHERE pair = ANY($1) AND ts >= $2`,
      [options.pairs, from],
    );
    const { rows, ticks } = r.rows[0]!;
    return { sent: run.sent, stored: ticks, lost: run.sent - ticks, duplicates: rows - ticks, sentRatePerS: run.sent / (run.wallMs / 1000), drainMs, refused: 0 };
  } finally {
    await Promise.all([ingest.close().catch(() => undefined), flusher.close().catch(() => undefined), db.end().catch(() => undefined)]);
  }
}
