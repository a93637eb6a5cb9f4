import { Worker } from 'node:worker_threads';
import type { LogLevel } from '../config/config.js';
import type { DatabaseKind } from '../db/database.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';
import type { PersisterMetrics } from './persister.js';
import type { RedisTarget } from '../redis/connection.js';

/** What the persister thread is given (structured-cloned): enough to open its own links. */
export interface PersisterThreadOptions {
  redisTarget: RedisTarget;
  keyPrefix: string;
  databaseUrl: string;
  databaseKind: DatabaseKind;
  queryTimeoutMs?: number;
  consumer: string;
  batchIntervalMs: number;
  logLevel: LogLevel;
}

/** Messages between the thread and its host. */
export type ToPersisterThread = { type: 'start' } | { type: 'close' };
export type FromPersisterThread =
  | { type: 'metric'; name: keyof PersisterMetrics; op: 'inc' | 'set' | 'observe'; value: number | undefined }
  | { type: 'ready' }
  | { type: 'closed' };

/** How long close() waits for the thread to finish its batch and close its links. */
const CLOSE_TIMEOUT_MS = 30_000;

/**
 * The persister in a worker thread of its own: writing a batch to PostgreSQL takes tens of
 * milliseconds of JavaScript per 10,000 ticks (parsing, identity lookup, rollups, parameters),
 * which on the server's event loop held every live tick up for as long. The thread opens its own
 * Redis and PostgreSQL links; its metrics come back as messages and land in the server's
 * registry. A thread that dies is started again with capped backoff (its unacknowledged entries
 * are written again, a no-op for those already stored).
 */
export class PersisterThread {
  /** Epoch ms of the thread's last successful write; null before the first. */
  lastWriteAt: number | null = null;
  /** Rows the thread (in all its lives) stored. */
  rowsWritten = 0;
  private worker: Worker | null = null;
  /** Resolves when the current thread said it closed, or exited. */
  private done: Promise<void> = Promise.resolve();
  private started = false;
  private closing = false;
  private failures = 0;
  private respawnTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: PersisterThreadOptions,
    private readonly metrics: PersisterMetrics,
    private readonly log: Logger,
  ) {
    this.spawn();
  }

  start(): void {
    this.started = true;
    this.worker?.postMessage({ type: 'start' } satisfies ToPersisterThread);
  }

  private spawn(): void {
    const worker = new Worker(new URL('./persister-thread-boot.mjs', import.meta.url), { workerData: this.options });
    this.worker = worker;
    let closedCleanly = false;
    let markDone = () => {};
    this.done = new Promise((resolve) => (markDone = resolve));
    worker.on('message', (m: FromPersisterThread) => {
      if (m.type === 'ready') {
        // Loading the thread takes about a second (longer on a busy machine); ticks wait in Redis meanwhile.
        this.log.info('persister thread ready');
        return;
      }
      if (m.type === 'closed') {
        closedCleanly = true;
        markDone();
        return;
      }
      const metric = this.metrics[m.name] as unknown as Record<string, (v?: number) => void>;
      metric[m.op]!.call(metric, m.value);
      if (m.name === 'persistRows') this.rowsWritten += m.value ?? 1;
      if (m.name === 'persistLastSuccess' && m.value !== undefined) {
        this.lastWriteAt = m.value * 1000;
        this.failures = 0;
      }
    });
    worker.on('error', (err) => this.log.error({ err }, 'persister thread failed'));
    worker.once('exit', (code) => {
      markDone();
      if (this.closing || closedCleanly) return;
      const delay = backoffDelay(this.failures++, 500, 30_000);
      this.log.error({ code, retryInMs: delay }, 'persister thread stopped; starting it again');
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = null;
        if (this.closing) return;
        this.spawn();
        if (this.started) this.start();
      }, delay);
    });
  }

  /** Lets the thread finish the batch in hand (acknowledged only once stored) and close its links. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ type: 'close' } satisfies ToPersisterThread);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS);
    });
    const late = await Promise.race([this.done.then(() => false), timedOut]);
    clearTimeout(timer);
    // Whatever a late thread held is still unacknowledged in Redis: written at the next start.
    if (late) this.log.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, 'persister thread did not stop in time; stopped');
    await worker.terminate();
  }
}
