import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { exposedMetricNames } from '../helpers/prometheus-text.js';
import { promqlMetricNames } from '../helpers/promql-names.js';
import { promtool } from '../helpers/promtool.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/test-app.js';
import { freshRequest, WorkersChild } from '../helpers/workers-child.js';

/**
 * The Grafana dashboard and the alert rules read QuFLX's metrics by name: every name they use
 * must be in the /metrics of a running QuFLX (WORKERS=2, so the primary's metrics are there
 * too), so that neither can silently rot when a metric is renamed.
 */

const OPS = path.resolve(import.meta.dirname, '../../ops');
/** Prometheus's own series, not QuFLX's: the scrape's health. */
const PROMETHEUS_OWN = new Set(['up']);

interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(path.join(OPS, 'grafana/quflx-dashboard.json'), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

let exposed: Set<string>;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
beforeAll(async () => {
  const db = await createTestSchema();
  cleanups.push(() => db.drop());
  const prefix = uniquePrefix();
  cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
  const quflx = new WorkersChild({ WORKERS: '2', PORT: '0', REDIS_URL: TEST_REDIS_URL, DATABASE_URL: (db as TestSchema).url, REDIS_KEY_PREFIX: prefix, FEED: 'none' });
  cleanups.push(async () => {
    if ((await quflx.child.kill('SIGINT')) !== 0) quflx.kill();
  });
  const url = await quflx.running();
  exposed = exposedMetricNames((await freshRequest(`${url}/metrics`, 'GET')).text);
}, 120_000);
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 60_000);

test('the dashboard is well formed: unique panel ids, a Prometheus datasource and a query on every graph', () => {
  expect(dashboard.uid).toBe('quflx-overview');
  const ids = panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const graphs = panels.filter((p) => p.type !== 'row');
  expect(graphs.length).toBeGreaterThan(10);
  for (const p of graphs) {
    expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    expect(p.targets?.length, p.title).toBeGreaterThan(0);
    for (const t of p.targets!) expect(promqlMetricNames(t.expr).length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
  }
});

test('the dashboard shows the key figures', () => {
  const used = new Set(panels.flatMap((p) => p.targets ?? []).flatMap((t) => promqlMetricNames(t.expr)));
  for (const name of [
    'quflx_ticks_accepted_total',
    'quflx_tick_to_publish_seconds_bucket',
    'quflx_redis_roundtrip_seconds_bucket',
    'quflx_persist_lag_seconds',
    'quflx_persist_pending_ticks',
    'quflx_socket_clients',
    'quflx_process_cpu_seconds_total',
    'quflx_process_resident_memory_bytes',
  ]) {
    expect(used.has(name), name).toBe(true);
  }
});

test("every metric the dashboard's queries and variables read is in QuFLX's /metrics", () => {
  const missing: string[] = [];
  for (const p of panels) for (const t of p.targets ?? []) for (const n of promqlMetricNames(t.expr)) if (!exposed.has(n)) missing.push(`${p.title}: ${n}`);
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q ? /^label_values\((\w+),/.exec(q) : null;
    if (m && !exposed.has(m[1]!)) missing.push(`variable ${v.name}: ${m[1]}`);
  }
  expect(missing).toEqual([]);
});

test("every metric the alert rules read is in QuFLX's /metrics (or is Prometheus's own)", () => {
  const rules = readFileSync(path.join(OPS, 'prometheus/quflx-rules.yml'), 'utf8');
  const exprs = [...rules.matchAll(/^\s*expr:\s*(.+)$/gm)].map((m) => m[1]!.trim());
  expect(exprs.length).toBeGreaterThan(10);
  // One line each, so that this reading of the file sees them whole.
  for (const e of exprs) expect(e, 'a multi-line expr').not.toMatch(/^[|>]/);
  const missing = exprs.flatMap((e) => promqlMetricNames(e).filter((n) => !exposed.has(n) && !PROMETHEUS_OWN.has(n)).map((n) => `${e}: ${n}`));
  expect(missing).toEqual([]);
});

test('every dashboard query is valid PromQL (promtool parses them as recording rules)', async () => {
  // Grafana's variables as Prometheus would see them once Grafana filled them in.
  const exprs = panels.flatMap((p) => p.targets ?? []).map((t) => t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'));
  const rules = ['groups:', '  - name: dashboard', '    rules:', ...exprs.flatMap((e, i) => [`      - record: dashboard:query_${i}`, `        expr: ${JSON.stringify(e)}`])].join('\n');
  const dir = mkdtempSync(path.join(tmpdir(), 'quflx-dashboard-'));
  try {
    writeFileSync(path.join(dir, 'dashboard-queries.yml'), rules + '\n');
    const r = await promtool(dir, 'check', 'rules', 'dashboard-queries.yml');
    expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(r.code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
