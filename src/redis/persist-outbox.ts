import type { Logger } from '../observability/logger.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';
import { ensureConsumerGroup, readMessages, type QueueMessage } from './persist-queue.js';

/** The consumer group that movers read outboxes with: each entry goes to one mover. */
const MOVER_GROUP = 'mover';
/** Entries per move step. */
const MOVE_CHUNK = 200;
/** An entry a mover took but did not finish moving in this long is taken by a sweep (its mover died). */
const STUCK_MS = 10_000;
/**
 * A kick waits this long before it moves, so the writes of a busy pair in that time move in one
 * go (three round trips each time) rather than one by one. The persister waits far longer anyway.
 */
const GATHER_MS = 20;

export interface PersistOutboxOptions {
  /** This process's mover name (distinct per process, like the persist consumer). */
  consumer: string;
  /** Every symbol that may have an outbox (the instruments registry). */
  symbols: () => Promise<string[]>;
  /** How often every outbox is swept for entries left behind (ms). */
  sweepEveryMs?: number;
  /** An entry taken but not moved for this long is taken over by a sweep (ms; default STUCK_MS). */
  stuckMs?: number;
}

/**
 * On a Redis Cluster the ingest script cannot reach the persist streams (they lie in other
 * slots), so it puts a pair's accepted ticks in the pair's outbox (`outbox:{SYM}`, its own slot),
 * and this moves them on to the pair's persist stream right after each write. A tick is
 * acknowledged once it is in the outbox: Redis holds it there exactly as it would in the stream.
 *
 * Movers take entries with a consumer group, so two processes writing one pair never move one
 * entry twice; an entry is deleted from the outbox only after its copy is in the stream. A mover
 * that dies between the two leaves the entry pending; a sweep takes it over after STUCK_MS and
 * moves it again (the persister stores a repeat once: the table's identity key). The sweep also
 * moves what no mover took (a kick lost to an error).
 */
export class PersistOutbox {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly ensured = new Set<string>();
  private readonly errors: ThrottledLog;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    log: Logger,
    private readonly options: PersistOutboxOptions,
  ) {
    this.errors = new ThrottledLog(log, 30_000);
  }

  /** Starts the periodic sweep. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.sweepSoon(), this.options.sweepEveryMs ?? 5000);
    this.timer.unref();
  }

  /** Moves these pairs' outboxes soon (GATHER_MS), in the background: one move per pair at a time; a kick during one runs it again. */
  kick(pairs: readonly string[]): void {
    for (const pair of pairs) {
      if (this.closed) return;
      if (this.running.has(pair)) {
        this.again.add(pair);
        continue;
      }
      const run = sleep(GATHER_MS)
        .then(() => this.moveAll(pair, '>'))
        .catch((err: Error) => this.errors.warn({ err: err.message, pair }, 'outbox move failed; the sweep moves it later'))
        .finally(() => {
          this.running.delete(pair);
          if (this.again.delete(pair)) this.kick([pair]);
        });
      this.running.set(pair, run);
    }
  }

  /** One sweep over every outbox: entries no mover took, and entries stuck with a dead mover. */
  async sweep(): Promise<void> {
    const symbols = await this.options.symbols();
    for (const sym of symbols) {
      if (this.closed) return;
      await this.claimStuck(sym);
      await this.moveAll(sym, '>');
    }
  }

  private sweepSoon(): void {
    if (this.sweeping) return;
    this.sweeping = this.sweep()
      .catch((err: Error) => this.errors.warn({ err: err.message }, 'outbox sweep failed; next one soon'))
      .finally(() => (this.sweeping = null));
  }

  private async moveAll(pair: string, id: string): Promise<void> {
    for (;;) {
      const n = await this.moveSome(pair, id);
      if (n < MOVE_CHUNK || this.closed) return;
    }
  }

  /** Takes up to MOVE_CHUNK entries of the outbox, copies them to the persist stream, then acks and deletes them. */
  private async moveSome(pair: string, id: string): Promise<number> {
    const outbox = this.keys.ingestQueue(pair);
    await this.ensureGroup(outbox);
    const reply = await this.redis.xReadGroup(MOVER_GROUP, this.options.consumer, { key: outbox, id }, { COUNT: MOVE_CHUNK }).catch((err: Error) => {
      // A Redis that lost the group (a failover before it replicated): made again on the next call.
      if (err.message.includes('NOGROUP')) this.ensured.delete(outbox);
      throw err;
    });
    const messages = readMessages(reply);
    await this.copy(pair, outbox, messages);
    return messages.length;
  }

  private async copy(pair: string, outbox: string, messages: QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const queue = this.keys.persistQueueOf(pair);
    const into = this.redis.multi();
    let ticks = 0;
    for (const m of messages) {
      into.xAdd(queue, '*', { t: m.message.t ?? '', n: m.message.n ?? '0' });
      ticks += Number(m.message.n ?? 0);
    }
    into.incrBy(this.keys.persistQueueCount(queue), ticks);
    await into.exec();
    const ids = messages.map((m) => m.id);
    await this.redis.multi().xAck(outbox, MOVER_GROUP, ids).xDel(outbox, ids).exec();
  }

  private async claimStuck(sym: string): Promise<void> {
    const outbox = this.keys.ingestQueue(sym);
    await this.ensureGroup(outbox);
    let cursor = '0-0';
    do {
      const reply = await this.redis.xAutoClaim(outbox, MOVER_GROUP, this.options.consumer, this.options.stuckMs ?? STUCK_MS, cursor, { COUNT: MOVE_CHUNK });
      cursor = reply.nextId;
      const messages = reply.messages.filter((m): m is NonNullable<typeof m> => m !== null) as QueueMessage[];
      await this.copy(sym, outbox, messages);
    } while (cursor !== '0-0' && !this.closed);
  }

  /** The outbox's mover group, made once per process (from the start, so no entry is ever skipped). */
  private async ensureGroup(outbox: string): Promise<void> {
    if (this.ensured.has(outbox)) return;
    await ensureConsumerGroup(this.redis, outbox, MOVER_GROUP);
    if (this.ensured.size > 100_000) this.ensured.clear();
    this.ensured.add(outbox);
  }

  /** Stops kicks and sweeps and waits for the moves under way (an unfinished one is finished by a later sweep). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.running.values(), this.sweeping]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
