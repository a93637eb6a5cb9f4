import { QuflxApp } from '../app.js';
import type { Config } from '../config/config.js';
import type { ClusterView } from '../http/routes/health.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import type { FeedReport } from '../shared/http.js';
import { GATHER_TIMEOUT_MS, WORKER_ENV, isPrimaryMessage, type PrimaryMessage, type WorkerAssignment, type WorkerMessage } from './cluster-protocol.js';
import { takeOver } from './services.js';
import { stopOnSignals } from './stop-signals.js';

/** The persist consumer of worker `index`: stable across its restarts, so its successor finds its pending entries. */
export function workerConsumer(base: string, index: number): string {
  return `${base}-w${index}`;
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send!(message);
}

/** Asks the primary for the cluster's metrics or feed report; rejects when no answer comes in time. */
class PrimaryLink implements ClusterView {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (m: PrimaryMessage & { type: 'quflx:answer' }) => void; timer: NodeJS.Timeout }>();

  answered(message: PrimaryMessage & { type: 'quflx:answer' }): void {
    const w = this.waiting.get(message.id);
    if (!w) return;
    this.waiting.delete(message.id);
    clearTimeout(w.timer);
    w.resolve(message);
  }

  private ask(what: 'metrics' | 'feed'): Promise<PrimaryMessage & { type: 'quflx:answer' }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A little longer than the primary's own wait for the workers' reports.
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the primary did not answer for ${what}`));
      }, GATHER_TIMEOUT_MS[what] + 500);
      this.waiting.set(id, { resolve, timer });
      send({ type: 'quflx:ask', id, what });
    });
  }

  async metrics(): Promise<string> {
    const answer = await this.ask('metrics');
    if (answer.metrics === undefined) throw new Error(answer.error ?? 'no metrics in the answer');
    return answer.metrics;
  }

  async feed(): Promise<FeedReport | null> {
    return (await this.ask('feed')).feed ?? null;
  }
}

/**
 * One worker of WORKERS=N (a node:cluster worker): QuflxApp on the shared port, with the Redis
 * and PostgreSQL the primary opened, its own Redis links, the persist consumer
 * `<PERSIST_CONSUMER>-w<index>`, metrics labelled `worker="<index>"`, and the feed only in the
 * worker that runs it. It answers the primary's report requests, and closes in order on the
 * primary's stop message or on SIGINT/SIGTERM (a worker stopped alone is replaced by the primary).
 */
export async function runWorker(config: Config, baseLog: Logger): Promise<void> {
  const assignment = JSON.parse(process.env[WORKER_ENV] ?? '') as WorkerAssignment;
  const { index } = assignment;
  const log = baseLog.child({ worker: index });
  const metrics = new Metrics({ labels: { worker: String(index) } });
  const primary = new PrimaryLink();
  let app: QuflxApp | null = null;

  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.type === 'quflx:answer') primary.answered(message);
    else if (message.type === 'quflx:report-request') {
      // Answered also while starting (an empty report), so a scrape never waits for a starting worker.
      metrics.registry.getMetricsAsJSON().then(
        (json) => send({ type: 'quflx:report', id: message.id, metrics: json, feed: app?.feedWatch.report() ?? null }),
        (err: Error) => {
          log.warn({ err: err.message }, 'could not collect metrics for the primary');
          send({ type: 'quflx:report', id: message.id, metrics: [], feed: app?.feedWatch.report() ?? null });
        },
      );
    } else if (message.type === 'quflx:stop') stop('primary');
  });

  const stop = stopOnSignals(log, async () => {
    await app?.close();
    return 0;
  });

  // Every worker listens with the same arguments: node:cluster then hands them one shared socket
  // (PORT=0 too: its port is drawn once, and a replacement joins it while another worker holds it).
  app = await QuflxApp.start(config, log, {
    services: takeOver(assignment.services),
    persistConsumer: workerConsumer(config.persistConsumer, index),
    metrics,
    worker: { index, count: assignment.count, runsFeed: index === 0, view: primary },
  });
  send({ type: 'quflx:ready', url: app.url });
}
