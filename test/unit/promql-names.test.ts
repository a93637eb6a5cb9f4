import { expect, test } from 'vitest';
import { promqlMetricNames } from '../helpers/promql-names.js';

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
