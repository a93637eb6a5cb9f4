import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The primary's own metrics with WORKERS=N: its process (CPU and memory, e.g. the Redis
 * emulation it may host) as `worker="primary"`, how many workers serve, and how often each worker
 * index was started again. They join the workers' series in the one /metrics (cluster-metrics.ts).
 */
export class PrimaryMetrics {
  readonly registry = new Registry();
  readonly workers = new Gauge({
    name: 'quflx_workers',
    help: 'Worker processes that serve now (WORKERS=N; a worker being replaced is not counted)',
    registers: [this.registry],
  });
  readonly workerRestarts = new Counter({
    name: 'quflx_worker_restarts_total',
    help: 'Workers started again after one exited unexpectedly, by worker index',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  constructor() {
    this.registry.setDefaultLabels({ worker: 'primary' });
    collectDefaultMetrics({ register: this.registry, prefix: 'quflx_' });
  }
}
