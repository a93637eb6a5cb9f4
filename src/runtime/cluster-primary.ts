import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.js';
import { mergeFeedReports } from '../core/feed-report-merge.js';
import { backoffDelay } from '../lib/backoff.js';
import { clusterMetricsText, type MetricsJson } from '../observability/cluster-metrics.js';
import type { Logger } from '../observability/logger.js';
import { PrimaryMetrics } from '../observability/primary-metrics.js';
import type { FeedReport } from '../shared/http.js';
import {
  GATHER_TIMEOUT_MS,
  WORKER_ENV,
  isWorkerMessage,
  type PrimaryMessage,
  type WorkerAssignment,
  type WorkerMessage,
} from './cluster-protocol.js';
import { handOver, openServices, type Services } from './services.js';
import { stopOnSignals } from './stop-signals.js';

/** A worker that lived this long before it exited is replaced at once; one that dies young, after a growing wait. */
const HEALTHY_LIFE_MS = 30_000;

interface Slot {
  index: number;
  worker: Worker | null;
  pid: number | undefined;
  ready: boolean;
  startedAt: number;
  /** Exits in a row of workers that died young, for the backoff before the next start. */
  quickExits: number;
  restartTimer: NodeJS.Timeout | null;
}

interface Report {
  metrics: MetricsJson;
  feed: FeedReport | null;
}

/** Report requests sent to the workers and the reports that came back. */
class Gathering {
  private nextId = 0;
  private readonly open = new Map<number, { awaited: Set<Worker>; reports: Report[]; done: () => void }>();

  /** Every listed worker's report, or those that came within `timeoutMs` (a worker may be restarting). */
  gather(workers: Worker[], timeoutMs: number): Promise<Report[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const entry = { awaited: new Set(workers), reports: [] as Report[], done: () => undefined as void };
      const timer = setTimeout(() => entry.done(), timeoutMs);
      entry.done = () => {
        clearTimeout(timer);
        this.open.delete(id);
        resolve(entry.reports);
      };
      this.open.set(id, entry);
      for (const w of workers) {
        try {
          w.send({ type: 'quflx:report-request', id } satisfies PrimaryMessage);
        } catch {
          entry.awaited.delete(w);
        }
      }
      if (entry.awaited.size === 0) entry.done();
    });
  }

  reported(worker: Worker, message: WorkerMessage & { type: 'quflx:report' }): void {
    const entry = this.open.get(message.id);
    if (!entry || !entry.awaited.delete(worker)) return;
    entry.reports.push({ metrics: message.metrics, feed: message.feed });
    if (entry.awaited.size === 0) entry.done();
  }

  /** A worker that exits answers nothing: stop waiting for it. */
  gone(worker: Worker): void {
    for (const entry of this.open.values()) if (entry.awaited.delete(worker) && entry.awaited.size === 0) entry.done();
  }
}

/**
 * The primary of WORKERS=N (node:cluster): it opens the embedded Redis and PostgreSQL once (and
 * owns `.data/runtime.json`), forks N workers that share one port, replaces a worker that exits
 * (same index, so the same persist consumer and the same part: worker 0 runs the feed), answers
 * the workers' questions about the whole cluster (metrics, feed health), and on SIGINT/SIGTERM
 * stops the workers (each closes in order) and then the embedded servers.
 */
export class ClusterPrimary {
  private readonly slots: Slot[];
  private readonly metrics = new PrimaryMetrics();
  private readonly gathering = new Gathering();
  private url = '';
  private started = false;
  private stopping = false;
  private startFailed: ((err: Error) => void) | null = null;
  private allReady: (() => void) | null = null;
  private allExited: (() => void) | null = null;
  private workerFailed = false;

  private constructor(
    private readonly config: Config,
    private readonly services: Services,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: config.workers }, (_, index) => ({
      index,
      worker: null,
      pid: undefined,
      ready: false,
      startedAt: 0,
      quickExits: 0,
      restartTimer: null,
    }));
  }

  /** Starts the services and every worker; resolves once all serve (rejects, with everything stopped, if one cannot start). */
  static async start(config: Config, log: Logger): Promise<ClusterPrimary> {
    const services = await openServices(config, log, 'server');
    const primary = new ClusterPrimary(config, services, log);
    try {
      await primary.startWorkers();
    } catch (err) {
      await primary.stop();
      throw err;
    }
    return primary;
  }

  private async startWorkers(): Promise<void> {
    // Workers run this same program; their output goes where the primary's goes.
    cluster.setupPrimary({ silent: false });
    const ready = new Promise<void>((resolve, reject) => {
      this.allReady = resolve;
      this.startFailed = reject;
    });
    for (const slot of this.slots) this.fork(slot);
    await ready;
    this.started = true;
    this.startFailed = null;
    this.log.info(
      { url: this.url, workers: this.slots.length, feed: this.config.feed.kind, redis: this.services.redisKind, database: this.services.databaseKind },
      'QuFLX is running',
    );
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    const assignment: WorkerAssignment = { index: slot.index, count: this.slots.length, services: handOver(this.services) };
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(assignment) });
    slot.worker = worker;
    slot.pid = worker.process.pid;
    slot.ready = false;
    slot.startedAt = Date.now();
    this.log.info({ worker: slot.index, pid: slot.pid }, 'worker started');
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.onMessage(slot, worker, message);
    });
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
    // A send to a worker that is exiting fails with EPIPE; its exit is handled above.
    worker.on('error', (err) => this.log.debug({ worker: slot.index, err: err.message }, 'worker channel error'));
  }

  private onMessage(slot: Slot, worker: Worker, message: WorkerMessage): void {
    if (message.type === 'quflx:ready') {
      if (slot.worker !== worker) return;
      slot.ready = true;
      this.url ||= message.url;
      this.metrics.workers.set(this.slots.filter((s) => s.ready).length);
      if (this.started) this.log.info({ worker: slot.index, pid: slot.pid }, 'worker replaced');
      else if (this.slots.every((s) => s.ready)) this.allReady?.();
    } else if (message.type === 'quflx:report') {
      this.gathering.reported(worker, message);
    } else if (message.type === 'quflx:ask') {
      this.answer(worker, message.id, message.what).catch((err: Error) => this.log.warn({ err: err.message }, 'could not answer a worker'));
    }
  }

  private async answer(worker: Worker, id: number, what: 'metrics' | 'feed'): Promise<void> {
    const live = this.slots.flatMap((s) => (s.worker && s.worker.isConnected() ? [s.worker] : []));
    const reports = await this.gathering.gather(live, GATHER_TIMEOUT_MS[what]);
    const feed = mergeFeedReports(reports.flatMap((r) => (r.feed ? [r.feed] : [])));
    let reply: PrimaryMessage;
    if (what === 'feed') reply = { type: 'quflx:answer', id, feed };
    else {
      // Feed health is the cluster's: a pair one worker stopped hearing may be fresh in another.
      const clusterGauges = feed
        ? [
            { name: 'quflx_feed_stale_pairs', value: feed.stale.length },
            { name: 'quflx_feed_suspect_pairs', value: feed.suspect.length },
          ]
        : [];
      const own = await this.metrics.registry.getMetricsAsJSON();
      reply = { type: 'quflx:answer', id, metrics: await clusterMetricsText([own, ...reports.map((r) => r.metrics)], clusterGauges) };
    }
    if (worker.isConnected()) worker.send(reply);
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    this.gathering.gone(worker);
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    this.metrics.workers.set(this.slots.filter((s) => s.ready).length);
    if (this.stopping) {
      if (code !== 0) this.workerFailed = true;
      this.log.info({ worker: slot.index, pid: slot.pid, code, signal }, 'worker stopped');
      if (this.slots.every((s) => s.worker === null)) this.allExited?.();
      return;
    }
    if (!this.started) {
      this.startFailed?.(new Error(`worker ${slot.index} (pid ${slot.pid}) exited during start (code ${code}, signal ${signal}); see its log above`));
      return;
    }
    // Same index: the same persist consumer (its successor writes what it held) and the same part.
    slot.quickExits = Date.now() - slot.startedAt >= HEALTHY_LIFE_MS ? 0 : slot.quickExits + 1;
    const delay = slot.quickExits === 0 ? 0 : backoffDelay(slot.quickExits - 1, 200, 10_000);
    // A worker stopped on its own (SIGTERM to it alone) closed in order; any other end is a failure.
    const level = code === 0 ? 'warn' : 'error';
    this.log[level]({ worker: slot.index, pid: slot.pid, code, signal, restartInMs: delay }, 'worker exited; starting a new one');
    this.metrics.workerRestarts.inc({ worker: String(slot.index) });
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  /** Stops every worker (each closes in order: feed, sockets, HTTP, last writes), then the embedded servers. Resolves to the exit code. */
  async stop(): Promise<number> {
    this.stopping = true;
    const exited = new Promise<void>((resolve) => (this.allExited = resolve));
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      const w = slot.worker;
      if (w?.isConnected()) w.send({ type: 'quflx:stop' } satisfies PrimaryMessage, (err: Error | null) => err && w.process.kill('SIGTERM'));
      else w?.process.kill('SIGTERM');
    }
    if (this.slots.some((s) => s.worker !== null)) await exited;
    await this.services.close();
    this.log.info('QuFLX stopped');
    return this.workerFailed ? 1 : 0;
  }

  /** Ends every worker at once (the shutdown watchdog's last resort). */
  killWorkers(): void {
    for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
  }

  /** Worker pids by index (null while one is being replaced). */
  get workerPids(): (number | null)[] {
    return this.slots.map((s) => (s.worker ? (s.pid ?? null) : null));
  }
}

/** `npm start` with WORKERS > 1: the primary, until SIGINT/SIGTERM. */
export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const primary = await ClusterPrimary.start(config, log);
  stopOnSignals(log, () => primary.stop(), () => primary.killWorkers());
}
