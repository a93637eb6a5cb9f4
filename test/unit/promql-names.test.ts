import { expect, test } from 'vitest';
import { exposedMetricNames, promqlMetricNames } from '../helpers/promql-names.js';

/** The helper that keeps the dashboard and the alert rules honest needs to be right itself. */
test('promqlMetricNames finds the metrics and nothing else', () => {
  expect(promqlMetricNames('sum by (source) (rate(quflx_ticks_accepted_total{instance=~"$instance"}[$__rate_interval]))')).toEqual(['quflx_ticks_accepted_total']);
  expect(promqlMetricNames('histogram_quantile(0.99, sum by (le) (rate(quflx_tick_to_publish_seconds_bucket[5m])))')).toEqual(['quflx_tick_to_publish_seconds_bucket']);
  expect(promqlMetricNames('max by (instance) (a_lag) > 2 * max by (instance) (b_interval)')).toEqual(['a_lag', 'b_interval']);
  expect(promqlMetricNames('x / on (worker) group_left (source) y or count(count by (instance) (z{worker!="primary"})) unless w offset 5m')).toEqual(['w', 'x', 'y', 'z']);
  expect(promqlMetricNames('up{job="quflx"} == 0')).toEqual(['up']);
  expect(promqlMetricNames('label_values(quflx_process_cpu_seconds_total, instance)')).toEqual(['instance', 'quflx_process_cpu_seconds_total']);
  expect(promqlMetricNames('1e3 * 0.5 + vector(1)')).toEqual([]);
  expect(promqlMetricNames('metric{name="by (x) rate(y)"}')).toEqual(['metric']);
});

test('exposedMetricNames reads TYPE lines and adds the series of histograms and summaries', () => {
  const text = [
    '# HELP a_total A',
    '# TYPE a_total counter',
    'a_total{worker="0"} 1',
    '# TYPE b_seconds histogram',
    'b_seconds_bucket{le="1"} 0',
    '# TYPE c summary',
    '# TYPE d gauge',
  ].join('\n');
  expect([...exposedMetricNames(text)].sort()).toEqual(['a_total', 'b_seconds', 'b_seconds_bucket', 'b_seconds_count', 'b_seconds_sum', 'c', 'c_count', 'c_sum', 'd']);
});
