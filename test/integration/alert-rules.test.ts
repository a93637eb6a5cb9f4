import path from 'node:path';
import { expect, test } from 'vitest';
import { promtool } from '../helpers/promtool.js';

/** The Prometheus alert rules, checked and unit-tested by promtool (Debian's `prometheus` package). */

const DIR = path.resolve(import.meta.dirname, '../../ops/prometheus');

test('promtool check rules: quflx-rules.yml is valid', async () => {
  const r = await promtool(DIR, 'check', 'rules', 'quflx-rules.yml');
  expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  expect(r.code).toBe(0);
});

test('promtool test rules: every alert fires on its series, with its labels and text, and not before its time', async () => {
  const r = await promtool(DIR, 'test', 'rules', 'quflx-rules.test.yml');
  expect(r.output).toContain('SUCCESS');
  expect(r.code).toBe(0);
});
