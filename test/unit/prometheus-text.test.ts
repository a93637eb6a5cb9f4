import { expect, test } from 'vitest';
import { exposedMetricNames, sample } from '../helpers/prometheus-text.js';

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

test('sample reads the value of the series with exactly these labels', () => {
  const text = ['# TYPE a gauge', 'a 7', 'a{worker="0"} 1', 'a{worker="1",source="x"} 2', 'ab{worker="0"} 9'].join('\n');
  expect(sample(text, 'a', {})).toBe(7);
  expect(sample(text, 'a', { worker: '0' })).toBe(1);
  expect(sample(text, 'a', { worker: '1' })).toBeNull();
  expect(sample(text, 'a', { worker: '1', source: 'x' })).toBe(2);
  expect(sample(text, 'b', {})).toBeNull();
});
