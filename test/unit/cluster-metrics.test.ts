import { Gauge, Registry } from 'prom-client';
import { expect, test } from 'vitest';
import { clusterMetricsText } from '../../src/observability/cluster-metrics.js';
import { Metrics } from '../../src/observability/metrics.js';

/** The sample lines of `name` (exactly that name, or its histogram series), sorted. */
function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .sort();
}

test('every worker keeps its own series, labelled; nothing is summed; one HELP and TYPE per name', async () => {
  const w0 = new Metrics({ defaultMetrics: false, labels: { worker: '0' } });
  const w1 = new Metrics({ defaultMetrics: false, labels: { worker: '1' } });
  w0.ticksAccepted.inc({ source: 'http' }, 3);
  w0.ticksAccepted.inc({ source: 'simulator' }, 10);
  w1.ticksAccepted.inc({ source: 'http' }, 4);
  w0.socketClients.set(2);
  w1.socketClients.set(5);
  w0.redisRoundTrip.observe(0.0003);
  w1.redisRoundTrip.observe(0.003);
  w1.redisRoundTrip.observe(0.003);
  const primary = new Registry();
  primary.setDefaultLabels({ worker: 'primary' });
  new Gauge({ name: 'quflx_workers', help: 'Workers', registers: [primary] }).set(2);

  const text = await clusterMetricsText([await primary.getMetricsAsJSON(), await w0.registry.getMetricsAsJSON(), await w1.registry.getMetricsAsJSON()]);

  expect(samples(text, 'quflx_ticks_accepted_total')).toEqual([
    'quflx_ticks_accepted_total{source="http",worker="0"} 3',
    'quflx_ticks_accepted_total{source="http",worker="1"} 4',
    'quflx_ticks_accepted_total{source="simulator",worker="0"} 10',
  ]);
  expect(samples(text, 'quflx_socket_clients')).toEqual(['quflx_socket_clients{worker="0"} 2', 'quflx_socket_clients{worker="1"} 5']);
  expect(samples(text, 'quflx_workers')).toEqual(['quflx_workers{worker="primary"} 2']);
  // Histograms bucket by bucket, per worker: 0.3 ms falls in le=0.0005, 3 ms in le=0.005.
  expect(text).toContain('quflx_redis_roundtrip_seconds_bucket{le="0.0005",worker="0"} 1');
  expect(text).toContain('quflx_redis_roundtrip_seconds_bucket{le="0.0005",worker="1"} 0');
  expect(text).toContain('quflx_redis_roundtrip_seconds_bucket{le="0.005",worker="1"} 2');
  expect(text).toContain('quflx_redis_roundtrip_seconds_count{worker="1"} 2');
  for (const name of ['quflx_ticks_accepted_total', 'quflx_socket_clients', 'quflx_redis_roundtrip_seconds', 'quflx_workers']) {
    expect(text.split('\n').filter((l) => l.startsWith(`# TYPE ${name} `))).toHaveLength(1);
    expect(text.split('\n').filter((l) => l.startsWith(`# HELP ${name} `))).toHaveLength(1);
  }
});

test('a cluster gauge replaces the workers\' series of its name by one series without labels', async () => {
  const w0 = new Metrics({ defaultMetrics: false, labels: { worker: '0' } });
  const w1 = new Metrics({ defaultMetrics: false, labels: { worker: '1' } });
  w0.feedHealthCounts = () => ({ stale: 1, suspect: 0 });
  w1.feedHealthCounts = () => ({ stale: 3, suspect: 1 });
  const text = await clusterMetricsText([await w0.registry.getMetricsAsJSON(), await w1.registry.getMetricsAsJSON()], [
    { name: 'quflx_feed_stale_pairs', value: 2 },
    { name: 'quflx_feed_suspect_pairs', value: 1 },
  ]);
  expect(samples(text, 'quflx_feed_stale_pairs')).toEqual(['quflx_feed_stale_pairs 2']);
  expect(samples(text, 'quflx_feed_suspect_pairs')).toEqual(['quflx_feed_suspect_pairs 1']);
  expect(text).toContain('# TYPE quflx_feed_stale_pairs gauge');
});

test('process metrics of each worker stay apart, start time included', async () => {
  const w0 = new Metrics({ labels: { worker: '0' } });
  const w1 = new Metrics({ labels: { worker: '1' } });
  const text = await clusterMetricsText([await w0.registry.getMetricsAsJSON(), await w1.registry.getMetricsAsJSON()]);
  for (const name of ['quflx_process_cpu_seconds_total', 'quflx_process_resident_memory_bytes', 'quflx_process_start_time_seconds']) {
    expect(samples(text, name).map((l) => /worker="(\w+)"/.exec(l)?.[1])).toEqual(['0', '1']);
  }
});
