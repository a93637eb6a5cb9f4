import { performance } from 'node:perf_hooks';
import { UnavailableError, ValidationError } from '../core/errors.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Tick } from '../core/tick.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import type { PairRegistry } from '../redis/pair-registry.js';
import type { TickStore } from '../redis/tick-store.js';

export type TickSource = 'http' | 'simulator' | 'ws' | 'cdp' | 'csv' | 'bench';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Seq per tick in input order; 0 for a duplicate. */
  seqs: number[];
}

export interface IngestorOptions {
  /** Most ticks waiting for Redis; a feed tick beyond this is dropped and counted. */
  maxQueued?: number;
  /** Most ticks per Redis round trip. */
  maxBatch?: number;
  /** Micro-batches in flight at once on the one connection (pipelined). */
  maxInFlight?: number;
  /**
   * Least time between two Redis calls that carry only feed ticks and are not full batches. A
   * tick after a quiet spell goes at once; while a feed keeps sending (one tick per message, say),
   * each call takes what arrived within this window, so Redis's cost per call is shared by several
   * ticks. A caller waiting for its answer (HTTP) is never held back.
   */
  lingerMs?: number;
  /** Whether Redis can take writes now; request/response callers get a 503 when it cannot. */
  isAvailable: () => boolean;
  /**
   * Bounds a write's round trip: one with no answer in time fails like a lost link (HTTP callers
   * get a 503, feed ticks are retried; a retry is safe, the ingest script dedups).
   */
  deadline?: <T>(write: Promise<T>) => Promise<T>;
  /** One instrument per symbol: every tick is stored under its pair's canonical name. */
  registry: PairRegistry;
  /** Told of the newly accepted ticks of every job (not duplicates), after the write. Must not throw. */
  onAccepted?: (ticks: readonly Tick[], source: TickSource) => void;
}

interface Job {
  ticks: readonly Tick[];
  source: TickSource;
  startedAt: number;
  /** The ticks carry their canonical pair names (a feed's are named when they reach the head of the queue). */
  named: boolean;
  resolve?: (r: IngestResult) => void;
  reject?: (e: Error) => void;
}

const SPIKE_MS = 10;
/** See IngestorOptions.lingerMs: at most this much added to a tick's way while ticks stream in. */
export const DEFAULT_LINGER_MS = 4;

/**
 * The single way into the tick path. Validated ticks from every source are queued (bounded),
 * grouped into micro-batches and written by the ingest script with several batches in flight.
 * Feed ticks wait through a Redis outage and are retried with capped backoff; request/response
 * callers learn at once that Redis is away and retry themselves (a repeat is a duplicate).
 */
export class Ingestor {
  private readonly queue: Job[] = [];
  /** Ticks waiting or in flight. */
  private queued = 0;
  /** Ticks waiting (in `queue`), and how many of those jobs have a caller waiting for the answer. */
  private waiting = 0;
  private waitingCallers = 0;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  private lingerTimer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private failed: { no: number; jobs: Job[] }[] = [];
  private batchNo = 0;
  private paused = false;
  private failures = 0;
  private scheduled = false;
  private closed = false;
  private readonly retryLog: ThrottledLog;
  private readonly spikeLog: ThrottledLog;
  private readonly pairLimitLog: ThrottledLog;
  /** The head job's names are being registered: the queue waits behind it, so order is kept. */
  private naming = false;
  private namingFailures = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly maxQueued: number;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;

  constructor(
    private readonly store: TickStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: IngestorOptions,
  ) {
    this.maxQueued = options.maxQueued ?? 100_000;
    this.maxBatch = options.maxBatch ?? 2000;
    this.maxInFlight = options.maxInFlight ?? 8;
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    this.metrics.ingestCapacity.set(this.maxQueued);
    this.retryLog = new ThrottledLog(log);
    this.spikeLog = new ThrottledLog(log);
    this.pairLimitLog = new ThrottledLog(log);
  }

  /**
   * Stores validated ticks and reports what was new; all or nothing. Throws UnavailableError while
   * Redis is away, and PairLimitError (a ValidationError) when a pair would be new past MAX_PAIRS.
   */
  submit(ticks: readonly Tick[], source: TickSource): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new UnavailableError('QuFLX is shutting down'));
    if (!this.options.isAvailable()) return Promise.reject(new UnavailableError('Redis is unreachable; retry shortly'));
    if (this.queued + ticks.length > this.maxQueued && this.queued > 0) {
      this.metrics.bufferOverflow.inc({ buffer: 'ingest' });
      return Promise.reject(new UnavailableError('Ingest queue is full; retry shortly'));
    }
    const startedAt = performance.now();
    const named = this.options.registry.named(ticks);
    const enqueue = (t: readonly Tick[]) =>
      new Promise<IngestResult>((resolve, reject) => this.enqueue({ ticks: t, source, startedAt, named: true, resolve, reject }));
    if (named) return enqueue(named);
    return this.bounded(this.options.registry.canonicalizeAll(ticks)).then(
      (t) => {
        if (this.closed) throw new UnavailableError('QuFLX is shutting down');
        return enqueue(t);
      },
      (err: Error) => {
        if (err instanceof ValidationError) {
          this.metrics.ticksOverPairLimit.inc({ source }, new Set(err.details.map((d) => d.index)).size);
          throw err;
        }
        throw new UnavailableError(`Redis is unreachable (${err.message}); retry shortly`);
      },
    );
  }

  /**
   * Queues validated feed ticks; they wait through Redis outages. A big message is split into
   * micro-batches of at most maxBatch ticks; what does not fit the bounded queue is dropped and
   * counted (the caller logs it). Returns how many ticks were taken, from the front.
   */
  offer(ticks: readonly Tick[], source: TickSource): number {
    if (ticks.length === 0) return 0;
    const room = this.closed ? 0 : Math.max(0, this.maxQueued - this.queued);
    const taken = Math.min(room, ticks.length);
    if (taken < ticks.length) this.metrics.bufferOverflow.inc({ buffer: 'ingest' }, ticks.length - taken);
    const startedAt = performance.now();
    for (let i = 0; i < taken; i += this.maxBatch) {
      const part = taken === ticks.length && taken <= this.maxBatch ? ticks : ticks.slice(i, Math.min(i + this.maxBatch, taken));
      const named = this.options.registry.named(part);
      this.enqueue({ ticks: named ?? part, source, startedAt, named: named !== null });
    }
    return taken;
  }

  /** Ticks waiting for Redis (queued or in flight). */
  get backlog(): number {
    return this.queued;
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    this.queued += job.ticks.length;
    this.waiting += job.ticks.length;
    if (job.resolve) this.waitingCallers++;
    this.metrics.ingestQueued.set(this.queued);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate groups everything that arrived in this event-loop turn into one batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.paused && !this.naming && this.inFlight < this.maxInFlight && this.queue.length > 0) {
      if (!this.queue[0]!.named) {
        void this.nameHead();
        break;
      }
      const now = performance.now();
      const wait = this.lastSendAt + this.lingerMs - now;
      if (this.waiting < this.maxBatch && wait > 0 && this.waitingCallers === 0 && !this.closed) {
        // Feed ticks are streaming in: let this call gather what arrives within the window.
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = null;
          this.pump();
        }, Math.ceil(wait));
        break;
      }
      const jobs: Job[] = [];
      let n = 0;
      while (this.queue.length > 0 && this.queue[0]!.named && (n === 0 || n + this.queue[0]!.ticks.length <= this.maxBatch)) {
        const job = this.queue.shift()!;
        jobs.push(job);
        n += job.ticks.length;
        if (job.resolve) this.waitingCallers--;
      }
      this.waiting -= n;
      this.lastSendAt = now;
      void this.send(jobs, n, ++this.batchNo);
    }
    if (this.inFlight === 0 && this.queue.length === 0 && this.failed.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Registers the names of the feed job at the head of the queue (new pairs); the queue waits, so
   * ticks keep their order. Pairs past MAX_PAIRS are dropped, counted and logged; while Redis is
   * away this retries with capped backoff.
   */
  private async nameHead(): Promise<void> {
    const job = this.queue[0]!;
    this.naming = true;
    try {
      const { ticks, refused } = await this.bounded(this.options.registry.canonicalize(job.ticks, 'some'));
      this.namingFailures = 0;
      if (refused.length > 0) {
        this.queued -= refused.length;
        this.waiting -= refused.length;
        this.metrics.ingestQueued.set(this.queued);
        this.metrics.ticksOverPairLimit.inc({ source: job.source }, refused.length);
        const pairs = [...new Set(refused.map((i) => job.ticks[i]!.pair))];
        this.pairLimitLog.warn(
          { source: job.source, dropped: refused.length, pairs: pairs.slice(0, 10), maxPairs: this.options.registry.maxPairs },
          'feed ticks of new pairs past MAX_PAIRS dropped',
        );
      }
      job.ticks = ticks;
      job.named = true;
      if (ticks.length === 0 && this.queue[0] === job) this.queue.shift();
      this.naming = false;
    } catch (err) {
      // Callers that can retry are told now rather than wait behind the feed's ticks.
      for (const waiting of this.queue.filter((j) => j.reject)) {
        this.queue.splice(this.queue.indexOf(waiting), 1);
        this.queued -= waiting.ticks.length;
        this.waiting -= waiting.ticks.length;
        this.waitingCallers--;
        waiting.reject!(new UnavailableError(`Redis write failed: ${(err as Error).message}`));
      }
      this.metrics.ingestQueued.set(this.queued);
      const delay = backoffDelay(this.namingFailures++);
      this.retryLog.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot register new pair names (redis); feed ticks wait');
      await new Promise((r) => setTimeout(r, delay).unref());
      this.naming = false;
    }
    this.schedule();
  }

  /** A Redis round trip under the write deadline (when one is set). */
  private bounded<T>(work: Promise<T>): Promise<T> {
    return this.options.deadline ? this.options.deadline(work) : work;
  }

  private async send(jobs: Job[], n: number, no: number): Promise<void> {
    // Alone on the link, the round trip is Redis's own; behind other batches it includes queueing.
    const alone = this.inFlight === 0;
    this.inFlight++;
    const ticks = jobs.length === 1 ? jobs[0]!.ticks : jobs.flatMap((j) => j.ticks);
    const t0 = performance.now();
    try {
      const seqs = await this.bounded(this.store.write(ticks));
      const t1 = performance.now();
      this.inFlight--;
      this.failures = 0;
      this.queued -= n;
      this.metrics.ingestQueued.set(this.queued);
      this.afterWrite(jobs, ticks, seqs, t1 - t0, t1, alone);
    } catch (err) {
      this.inFlight--;
      this.onFailure(jobs, no, err as Error);
    }
    this.schedule();
  }

  private afterWrite(jobs: Job[], ticks: readonly Tick[], seqs: number[], rttMs: number, now: number, alone: boolean): void {
    this.metrics.redisRoundTrip.observe(rttMs / 1000);
    this.metrics.ingestBatchSize.observe(ticks.length);
    if (alone && rttMs > SPIKE_MS) {
      this.metrics.latencySpikes.inc();
      this.spikeLog.warn({ rttMs: Math.round(rttMs * 100) / 100, ticks: ticks.length }, 'redis round trip over 10 ms');
    }
    let offset = 0;
    for (const job of jobs) {
      const jobSeqs = seqs.slice(offset, offset + job.ticks.length);
      let accepted = 0;
      for (const seq of jobSeqs) if (seq > 0) accepted++;
      offset += job.ticks.length;
      const duplicates = job.ticks.length - accepted;
      if (accepted) {
        this.metrics.ticksAccepted.inc({ source: job.source }, accepted);
        this.options.onAccepted?.(accepted === job.ticks.length ? job.ticks : job.ticks.filter((_, i) => jobSeqs[i]! > 0), job.source);
      }
      if (duplicates) this.metrics.ticksDuplicate.inc({ source: job.source }, duplicates);
      this.metrics.tickToPublish.observe((now - job.startedAt) / 1000);
      job.resolve?.({ accepted, duplicates, seqs: jobSeqs });
    }
  }

  private onFailure(jobs: Job[], no: number, err: Error): void {
    // Callers that can retry are told now; feed ticks go back to the queue in their order.
    const keep: Job[] = [];
    for (const job of jobs) {
      if (job.reject) {
        this.queued -= job.ticks.length;
        job.reject(err instanceof UnavailableError ? err : new UnavailableError(`Redis write failed: ${err.message}`));
      } else keep.push(job);
    }
    this.metrics.ingestQueued.set(this.queued);
    if (keep.length > 0) this.failed.push({ no, jobs: keep });
    if (!this.paused) {
      this.paused = true;
      this.failures++;
      const delay = backoffDelay(this.failures - 1);
      this.log.warn({ err: err.message, retryInMs: delay, queued: this.queued }, 'redis write failed; feed ticks kept for retry');
      setTimeout(() => this.resume(), delay).unref();
    }
  }

  private resume(): void {
    if (this.inFlight > 0) {
      setTimeout(() => this.resume(), 10).unref();
      return;
    }
    const retry = this.failed.sort((a, b) => a.no - b.no).flatMap((f) => f.jobs);
    this.failed = [];
    this.queue.unshift(...retry);
    for (const job of retry) this.waiting += job.ticks.length;
    this.paused = false;
    this.schedule();
  }

  /** Resolves once nothing is queued or in flight (or after `timeoutMs`). */
  drain(timeoutMs = 5000): Promise<boolean> {
    if (this.inFlight === 0 && this.queue.length === 0 && this.failed.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops taking ticks and writes what is queued, for up to `timeoutMs`. Idempotent. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.schedule(); // what lingers goes now
    const drained = await this.drain(timeoutMs);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (!drained) {
      const left = this.queue.concat(this.failed.flatMap((f) => f.jobs));
      for (const job of left) job.reject?.(new UnavailableError('QuFLX is shutting down'));
      this.log.error({ ticks: this.queued }, 'shutting down with feed ticks not yet written to Redis');
    }
  }
}
