import type pg from 'pg';
import { insertRejected, insertTicks, toRow, type TickRow } from '../db/tick-repository.js';
import { backoffDelay } from '../lib/backoff.js';
import { withDeadline } from '../lib/deadline.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import type { RedisClient } from '../redis/connection.js';
import { PERSIST_GROUP, type RedisKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/lua-script.js';
import { ensurePersistGroups, parseQueueEntry, readMessages, readPersistBacklog } from '../redis/persist-queue.js';
import { FlushPolicy } from './flush-policy.js';

/** The metrics the persister keeps: a plain value each, so a persister thread can forward them (see persister-thread.ts). */
export const PERSISTER_METRICS = [
  'persistFailures',
  'persistLastSuccess',
  'persistRows',
  'persistBatchSeconds',
  'persistRejected',
  'persistPending',
  'persistLag',
] as const satisfies readonly (keyof Metrics)[];
export type PersisterMetrics = Pick<Metrics, (typeof PERSISTER_METRICS)[number]>;

export interface PersisterOptions {
  /** Stable and distinct per process: its pending entries are found again after a restart. */
  consumer: string;
  batchIntervalMs: number;
  maxBatch?: number;
  /** Entries of another consumer idle this long are taken over (that consumer is presumed dead). */
  claimIdleMs?: number;
  /** Test seams around COMMIT, to kill the process at the worst moments. */
  hooks?: { beforeCommit?: () => Promise<void>; afterCommit?: () => Promise<void> };
}

/** One tick of a queue entry: the row to store, and its JSON for rejected_ticks. */
interface Unit {
  row: TickRow;
  raw: string;
}

/** A queue entry: the ticks of one pair from one ingest micro-batch (null: unreadable). */
interface Entry {
  /** The persist stream it came from (one on a single node, several on a cluster). */
  queue: string;
  id: string;
  raw: string;
  units: Unit[] | null;
}

/**
 * Ticks per batch by default. Big enough that a batch of one day goes in by COPY (see
 * COPY_THRESHOLD) and its fixed round trips (pair ids, partitions, locks, the stored lookup,
 * rollups) are shared by many rows. In the benchmark the persister then ran at 1.2x the rate of
 * insertTicks' unnest path in the same run, against 0.8x with batches of 5,000.
 */
export const PERSIST_BATCH_TICKS = 20_000;

const TRIM = new LuaScript('persist-trim.lua');
const COUNT_DOWN = new LuaScript('count-down.lua');
const MAX_BLOCK_MS = 500;
/** On a cluster the streams lie on several nodes: polled without BLOCK (a blocked read would hold up a node's link), this often when idle. */
const CLUSTER_POLL_MS = 50;
const LAG_CHECK_MS = 2000;
/** The lag warning is logged at most this often (the gauge says it every check). */
export const LAG_WARNING_EVERY_MS = 30_000;
/** How long close() reads what is already queued before it writes. */
const CLOSE_READ_MS = 2000;
/**
 * Ids per XACK and entries per trim call (see persist-trim.lua); entries per read. An entry holds
 * one pair's ticks of one ingest micro-batch (usually 1 to a few hundred; up to 10,000 from one
 * HTTP request), so reads stay small.
 */
const ACK_CHUNK = 500;
const READ_CHUNK = 20;
/**
 * Once a batch has begun, new entries are gathered this often (several reads of READ_CHUNK)
 * instead of by a blocking read that wakes for every ingest call: at a live rate of one call
 * every few milliseconds, those wake-ups cost Redis more than the rest of the persister.
 */
const GATHER_MS = 200;
/**
 * Batches written at once. One: the persister runs beside the live path (its own thread), and a
 * second writer keeps a second PostgreSQL backend busy, CPU that live ticks need on a small
 * machine while a backlog drains. On two cores the database is the bound either way (a 300k
 * backlog: 98k rows/s with one writer, 96k with two, in the benchmark). The next batch is still
 * read while one is written.
 */
const WRITERS = 1;
/** Under PostgreSQL's deadlock_timeout (1 s): a wait of the persister's is always the one that gives way. */
const LOCK_TIMEOUT_MS = 500;

/**
 * Moves accepted ticks from the Redis persist queue (a Stream read with a consumer group) into
 * `historical_ticks`. A batch is one transaction; its entries are acknowledged only after COMMIT
 * (and then trimmed away), so a crash anywhere replays the batch, and the table's identity key
 * turns the replay into a no-op. The database failing is retried with capped backoff while the backlog
 * waits in Redis; a row the database refuses is found by splitting and set aside in `rejected_ticks`.
 */
export class Persister {
  private readonly policy: FlushPolicy;
  private readonly claimIdleMs: number;
  private readonly lagLog: ThrottledLog;
  private readonly backlogLog: ThrottledLog;
  private buffer: Entry[] = [];
  /** Ticks in the buffer (an entry holds one or more). */
  private buffered = 0;
  private readonly writing = new Set<Promise<void>>();
  private firstAt = 0;
  private stopping = false;
  private running: Promise<void> | null = null;
  private closed: Promise<void> | null = null;
  private nextClaimAt = 0;
  private lagTimer: NodeJS.Timeout | null = null;
  private lagCheck: Promise<void> | null = null;
  /** Epoch ms of the last successful write; null before the first. */
  lastWriteAt: number | null = null;
  rowsWritten = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly pool: pg.Pool,
    private readonly keys: RedisKeys,
    private readonly metrics: PersisterMetrics,
    private readonly log: Logger,
    private readonly options: PersisterOptions,
  ) {
    this.policy = new FlushPolicy(options.batchIntervalMs, options.maxBatch ?? PERSIST_BATCH_TICKS);
    this.claimIdleMs = options.claimIdleMs ?? Math.max(60_000, 2 * options.batchIntervalMs);
    this.lagLog = new ThrottledLog(log, LAG_WARNING_EVERY_MS);
    this.backlogLog = new ThrottledLog(log, 30_000);
  }

  start(): void {
    if (this.running || this.stopping) return;
    this.running = this.run();
    // Its own timer: the lag must be reported also while a write hangs.
    this.lagTimer = setInterval(() => this.watchLag(), LAG_CHECK_MS);
    this.lagTimer.unref();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await ensurePersistGroups(this.redis, this.keys);
        // Our own unacknowledged entries first (a previous life of this consumer), then the dead's.
        await this.drainOwnPending();
        await this.claimDead();
        failures = 0;
        await this.follow();
      } catch (err) {
        if (this.stopping) break;
        const delay = backoffDelay(failures++, 100, 5000);
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'persister: redis error; retrying');
        await sleep(delay);
      }
    }
  }

  /** Reads new entries and writes them by the flush policy until stopped. */
  private async follow(): Promise<void> {
    while (!this.stopping) {
      const now = Date.now();
      const block = this.policy.waitMs(this.buffered, this.firstAt, now, MAX_BLOCK_MS);
      if (this.buffered < this.policy.maxBatch && block > 0) {
        if (this.buffered > 0) await sleep(Math.min(block, GATHER_MS));
        // Empty: the first entry wakes us (it starts the batch's clock); else take what came.
        let entries = await this.readNew(this.buffered === 0 ? block : 0);
        if (entries.length > 0 && this.buffered === 0) this.firstAt = Date.now();
        while (entries.length > 0) {
          this.hold(entries);
          if (entries.length < READ_CHUNK || this.buffered >= this.policy.maxBatch || this.stopping) break;
          entries = await this.readNew(0);
        }
      }
      if (this.policy.due(this.buffered, this.firstAt, Date.now())) await this.flushBuffer();
      if (Date.now() >= this.nextClaimAt) await this.claimDead();
    }
  }

  /** Adds read entries to the batch in hand. */
  private hold(entries: Entry[]): void {
    for (const e of entries) {
      this.buffer.push(e);
      this.buffered += ticksOf(e);
    }
  }

  /**
   * New entries: a read of the one stream that blocks up to `blockMs` (0: does not block), or on
   * a cluster one read of every stream (and a short pause when all are empty and `blockMs` > 0).
   */
  private async readNew(blockMs: number): Promise<Entry[]> {
    const queues = this.keys.persistQueues();
    if (queues.length === 1) return this.read(queues[0]!, '>', READ_CHUNK, blockMs > 0 ? blockMs : undefined);
    const all = (await Promise.all(queues.map((q) => this.read(q, '>', READ_CHUNK)))).flat();
    if (all.length === 0 && blockMs > 0) await sleep(Math.min(blockMs, CLUSTER_POLL_MS));
    return all;
  }

  private async read(queue: string, id: string, count: number, blockMs?: number): Promise<Entry[]> {
    const reply = await this.redis.xReadGroup(
      PERSIST_GROUP,
      this.options.consumer,
      { key: queue, id },
      blockMs === undefined ? { COUNT: count } : { COUNT: count, BLOCK: blockMs },
    );
    return readMessages(reply).map((m) => toEntry(queue, m.id, m.message?.t));
  }

  /**
   * Writes this consumer's own unacknowledged entries (a previous life's), oldest first, in
   * batches of up to maxBatch ticks. Reading pending entries after an id walks the list once.
   */
  private async drainOwnPending(): Promise<void> {
    for (const queue of this.keys.persistQueues()) {
      await this.drainOwnPendingOf(queue);
      if (this.stopping) return;
    }
  }

  private async drainOwnPendingOf(queue: string): Promise<void> {
    let after = '0';
    for (;;) {
      const batch: Entry[] = [];
      let ticks = 0;
      for (;;) {
        const entries = await this.read(queue, after, READ_CHUNK);
        if (entries.length > 0) after = entries.at(-1)!.id;
        batch.push(...entries);
        ticks += entries.reduce((n, e) => n + ticksOf(e), 0);
        if (entries.length < READ_CHUNK || ticks >= this.policy.maxBatch) break;
      }
      if (batch.length === 0) return;
      await this.writeAndAck(batch);
      if (this.stopping) return;
    }
  }

  /** Takes over entries that another consumer read but did not acknowledge in claimIdleMs. */
  private async claimDead(): Promise<void> {
    this.nextClaimAt = Date.now() + Math.min(this.claimIdleMs, 30_000);
    for (const queue of this.keys.persistQueues()) {
      await this.claimDeadOf(queue);
      if (this.stopping) return;
    }
  }

  private async claimDeadOf(queue: string): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = await this.redis.xAutoClaim(queue, PERSIST_GROUP, this.options.consumer, this.claimIdleMs, cursor, {
        COUNT: READ_CHUNK,
      });
      cursor = reply.nextId;
      const entries = reply.messages.filter((m): m is NonNullable<typeof m> => m !== null).map((m) => toEntry(queue, m.id, m.message.t));
      if (entries.length > 0) {
        this.log.info({ entries: entries.length }, 'persister: took over entries of a stopped consumer');
        await this.writeAndAck(entries);
      }
    } while (cursor !== '0-0' && !this.stopping);
  }

  /**
   * Hands the buffer to a writer, once the batch before it is written (see WRITERS); the
   * reading of the next batch need not wait for it. (With more writers acks come out of order,
   * which the trim allows for.)
   */
  private async flushBuffer(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    this.buffered = 0;
    while (this.writing.size >= WRITERS) await Promise.race(this.writing);
    const job: Promise<void> = this.writeAndAck(batch)
      .catch((err) => {
        // Only when stopping: the entries stay pending and are written at the next start.
        this.log.warn({ err: (err as Error).message, entries: batch.length }, 'persister: batch left in Redis for the next start');
      })
      .finally(() => this.writing.delete(job));
    this.writing.add(job);
  }

  /** Writes until the database takes the batch (retrying with backoff), then acknowledges it. */
  private async writeAndAck(entries: Entry[]): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writeSplitting(entries);
        break;
      } catch (err) {
        this.metrics.persistFailures.inc();
        if (this.stopping && Date.now() - started > 5000) throw err;
        const delay = backoffDelay(attempt, 200, 10_000);
        this.log.warn(
          { err: (err as Error).message, entries: entries.length, ticks: entries.reduce((n, e) => n + ticksOf(e), 0), retryInMs: delay },
          'persister: database write failed; retrying',
        );
        await sleep(delay);
      }
    }
    this.lastWriteAt = Date.now();
    this.metrics.persistLastSuccess.set(this.lastWriteAt / 1000);
    const byQueue = new Map<string, Entry[]>();
    for (const e of entries) {
      const list = byQueue.get(e.queue);
      if (list) list.push(e);
      else byQueue.set(e.queue, [e]);
    }
    await Promise.all([...byQueue].map(([queue, list]) => this.ack(queue, list)));
  }

  /** One transaction for the batch; when the database refuses a row, halves until it is found. */
  private async writeSplitting(entries: Entry[]): Promise<void> {
    for (const e of entries) if (e.units === null) await this.reject(e.raw, 'queue entry is not readable ticks');
    await this.writeUnits(entries.flatMap((e) => e.units ?? []));
  }

  private async writeUnits(units: Unit[]): Promise<void> {
    if (units.length === 0) return;
    try {
      await this.writeBatch(units.map((u) => u.row));
    } catch (err) {
      if (!isRowError(err)) throw err;
      if (units.length === 1) {
        await this.reject(units[0]!.raw, `${(err as Error).message} (SQLSTATE ${(err as { code?: string }).code})`);
        return;
      }
      const mid = Math.ceil(units.length / 2);
      await this.writeUnits(units.slice(0, mid));
      await this.writeUnits(units.slice(mid));
    }
  }

  private async writeBatch(rows: TickRow[]): Promise<void> {
    const started = performance.now();
    const client = await this.pool.connect();
    let inserted: number;
    try {
      await client.query('BEGIN');
      try {
        // insertTicks waits for the advisory locks of the batch's pairs. A CSV import holds its
        // pairs' locks until it commits and may ask for one this batch holds: giving up soon (and
        // retrying the batch) keeps that from ever becoming a deadlock the import could lose.
        await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT_MS}ms'`);
        inserted = await insertTicks(client, rows);
        await this.options.hooks?.beforeCommit?.();
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
    await this.options.hooks?.afterCommit?.();
    this.rowsWritten += inserted;
    this.metrics.persistRows.inc(inserted);
    this.metrics.persistBatchSeconds.observe((performance.now() - started) / 1000);
  }

  private async reject(raw: string, reason: string): Promise<void> {
    await insertRejected(this.pool, raw, reason);
    this.metrics.persistRejected.inc();
    this.log.error({ entry: raw.slice(0, 200), reason }, 'persister: tick refused by the database; kept in rejected_ticks');
  }

  /**
   * XACK what was written, in chunks so Redis never stalls on one long command, then trim the
   * stream below the oldest entry any consumer still holds (XTRIM MINID): acknowledged entries
   * go; nothing unacknowledged or undelivered is ever removed. One trim also clears entries that
   * others acknowledged earlier but could not trim while an older entry was held.
   */
  private async ack(queue: string, entries: Entry[]): Promise<void> {
    const ids = entries.map((e) => e.id);
    for (let attempt = 0; ; attempt++) {
      try {
        const acks = [];
        for (let i = 0; i < ids.length; i += ACK_CHUNK) acks.push(this.redis.xAck(queue, PERSIST_GROUP, ids.slice(i, i + ACK_CHUNK)));
        await Promise.all(acks);
        const trimKeys = [queue, this.keys.persistQueueCount(queue)];
        for (;;) {
          const removed = Number(await TRIM.run(this.redis, trimKeys, [PERSIST_GROUP, String(ACK_CHUNK)]));
          if (removed < ACK_CHUNK) break;
        }
        if (this.keys.cluster) await this.countDownUnstored(entries);
        return;
      } catch (err) {
        // Unacknowledged entries are rewritten after a restart (a no-op), so giving up on close loses nothing.
        if (this.stopping) return;
        await sleep(backoffDelay(attempt, 100, 5000));
      }
    }
  }

  /**
   * On a cluster each pair counts its own unstored ticks (a candle fill reads that many of its
   * cdelta); they come off once stored and acknowledged. After the ack, so a crash in between
   * leaves the count high (a fill reads a little more), never low.
   */
  private async countDownUnstored(entries: Entry[]): Promise<void> {
    const perPair = new Map<string, number>();
    for (const e of entries) {
      const pair = e.units?.[0]?.row.pair;
      if (pair !== undefined) perPair.set(pair, (perPair.get(pair) ?? 0) + e.units!.length);
    }
    await Promise.all([...perPair].map(([pair, n]) => COUNT_DOWN.run(this.redis, [this.keys.unstoredCount(pair)], [String(n)])));
  }

  /**
   * Every few seconds: backlog gauges, and a warning when the oldest waiting tick is over two
   * intervals old. One check at a time, each bounded, so a stalled Redis link cannot pile them up.
   */
  private watchLag(): void {
    if (this.lagCheck) return;
    const now = Date.now();
    this.lagCheck = withDeadline(readPersistBacklog(this.redis, this.keys), LAG_CHECK_MS, 'persist backlog read')
      .then(({ pending, oldestMs }) => {
        const lagMs = oldestMs === null ? 0 : Math.max(0, now - oldestMs);
        this.metrics.persistPending.set(pending);
        this.metrics.persistLag.set(lagMs / 1000);
        if (lagMs > 2 * this.options.batchIntervalMs) {
          this.lagLog.warn({ lagMs, pending, lastWriteAt: this.lastWriteAt, writing: this.writing.size }, 'persister: lag is over twice the batch interval');
        }
      })
      .catch((err: Error) => this.backlogLog.warn({ err: err.message }, 'persister: could not read the backlog from Redis'))
      .finally(() => (this.lagCheck = null));
  }

  /** On close: reads without blocking until a batch is full, nothing is left, or the time is up. */
  private async takeQueued(): Promise<void> {
    const until = Date.now() + CLOSE_READ_MS;
    try {
      while (this.buffered < this.policy.maxBatch && Date.now() < until) {
        const entries = await withDeadline(this.readNew(0), Math.max(1, until - Date.now()), 'reading the queue on close');
        if (entries.length === 0) return;
        this.hold(entries);
      }
    } catch (err) {
      // Left in the stream (or pending to this consumer): written at the next start.
      this.log.warn({ err: (err as Error).message }, 'persister: could not read the queue on close');
    }
  }

  /**
   * Stops following, takes what is already queued (up to one batch: ticks accepted just before a
   * clean stop are stored now, a larger backlog at the next start), writes it (bounded by the
   * retry budget), and stops. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      if (this.lagTimer) clearInterval(this.lagTimer);
      // Never started (the schema was not in place): nothing of it is read on the way out either.
      if (this.running) {
        await this.running.catch(() => undefined);
        await this.takeQueued();
      }
      if (this.buffer.length > 0) await this.flushBuffer();
      await Promise.all(this.writing);
    })();
    return this.closed;
  }
}

function toEntry(queue: string, id: string, raw: string | undefined): Entry {
  const text = raw ?? '';
  const ticks = parseQueueEntry(text);
  if (!ticks) return { queue, id, raw: text, units: null };
  try {
    const units = ticks.map((t) => ({ row: toRow(t), raw: ticks.length === 1 ? text : JSON.stringify(t) }));
    return { queue, id, raw: text, units };
  } catch {
    return { queue, id, raw: text, units: null };
  }
}

const ticksOf = (e: Entry) => e.units?.length ?? 1;

/** Errors about the data of a row (SQLSTATE classes 22 and 23), as opposed to the link or the server. */
function isRowError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
