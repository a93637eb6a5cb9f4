import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** One registry's metrics as `registry.getMetricsAsJSON()` gives them (they cross the IPC channel as JSON). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** A gauge whose value is the cluster's, not a worker's (it replaces the workers' series of that name). */
export interface ClusterGauge {
  name: string;
  value: number;
}

/**
 * The one /metrics of WORKERS=N, built with prom-client's AggregatorRegistry from the metrics of
 * every worker (each series labelled `worker="<index>"`) and of the primary (`worker="primary"`).
 * The labels keep every series apart, so nothing is summed: each worker's counters reset on their
 * own when it is replaced, and Prometheus's rate() stays right (a sum would drop when a worker
 * goes and read as a false reset). Every aggregator is `sum`, which for distinct labels is a
 * plain union; `omit` (process start time) would hide when a worker was replaced.
 * `clusterGauges` replace the per-worker series of their name by one series without labels.
 */
export async function clusterMetricsText(parts: readonly MetricsJson[], clusterGauges: readonly ClusterGauge[] = []): Promise<string> {
  const replaced = new Map(clusterGauges.map((g) => [g.name, g.value]));
  const emitted = new Set<string>();
  const prepared = parts.map((metrics) =>
    metrics.map((m) => {
      if (!replaced.has(m.name)) return { ...m, aggregator: 'sum' as const };
      // The first copy of a cluster gauge carries the cluster's value; later copies nothing.
      const first = !emitted.has(m.name);
      emitted.add(m.name);
      return { ...m, aggregator: 'sum' as const, values: first ? [{ labels: {}, value: replaced.get(m.name)! }] : [] };
    }),
  );
  return AggregatorRegistry.aggregate(prepared).metrics();
}
