import type { MetricsJson } from '../observability/cluster-metrics.js';
import type { FeedReport } from '../shared/http.js';
import type { HandedServices } from './services.js';

/**
 * The messages between the primary of WORKERS=N and its workers, over node:cluster's IPC
 * channel. A worker asks the primary for the cluster's view (`ask`); the primary gathers a
 * `report` from every worker (`report-request`) and answers (`answer`).
 */
export type WorkerMessage =
  /** The worker's app is running (after listen; the feed started, if it runs one). */
  | { type: 'quflx:ready'; url: string }
  | { type: 'quflx:ask'; id: number; what: 'metrics' | 'feed' }
  | { type: 'quflx:report'; id: number; metrics: MetricsJson; feed: FeedReport | null };

export type PrimaryMessage =
  | { type: 'quflx:report-request'; id: number }
  | { type: 'quflx:answer'; id: number; metrics?: string; feed?: FeedReport | null; error?: string }
  /** Close in order and exit (the primary is stopping). */
  | { type: 'quflx:stop' };

/** What the primary tells a worker at fork, in the QUFLX_WORKER environment variable (JSON). */
export interface WorkerAssignment {
  index: number;
  count: number;
  services: HandedServices;
}

export const WORKER_ENV = 'QUFLX_WORKER';

/** How long the primary waits for the workers' reports: /health answers within a second, a scrape may take longer. */
export const GATHER_TIMEOUT_MS = { feed: 500, metrics: 3000 } as const;

function isObject(m: unknown): m is { type: unknown } {
  return typeof m === 'object' && m !== null && 'type' in m;
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return isObject(m) && typeof m.type === 'string' && ['quflx:ready', 'quflx:ask', 'quflx:report'].includes(m.type);
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return isObject(m) && typeof m.type === 'string' && ['quflx:report-request', 'quflx:answer', 'quflx:stop'].includes(m.type);
}
