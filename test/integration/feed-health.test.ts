import { afterEach, expect, test } from 'vitest';
import { getJson, postTicks, startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';

/** Feed health through the real ingest path: ticks posted over HTTP, flags read from /health and /metrics. */

const apps: TestApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

test('a suspect jump and a silent pair are flagged in /health and /metrics; the jump is kept', async () => {
  const t = await startTestApp();
  apps.push(t);
  const now = Date.now();
  // 25 ticks moving 0.0001 each, then one 0.01 away: 100 typical moves.
  const steady = Array.from({ length: 25 }, (_, i) => ({ pair: 'QFXJUMP_otc', price: 1.2 + (i % 2) * 0.0001, timestamp: now - 10_000 + i * 100 }));
  expect((await postTicks(t.url, steady)).status).toBe(202);
  expect((await postTicks(t.url, { pair: 'QFXJUMP_otc', price: 1.21, timestamp: now - 7000 })).body).toEqual({ accepted: 1, duplicates: 0 });
  // Another pair: 6 ticks 100 ms apart, then silence.
  const quiet = Array.from({ length: 6 }, (_, i) => ({ pair: 'QFXQUIET_otc', price: 1.3, timestamp: now - 9000 + i * 100 }));
  expect((await postTicks(t.url, quiet)).status).toBe(202);

  const health = await getJson(`${t.url}/health`);
  expect(health.status).toBe('ok');
  expect(health.feed).toMatchObject({ kind: 'none', status: 'off', suspect: ['QFXJUMP_otc'], stale: [] });
  const jump = health.feed.pairs.find((p: { pair: string }) => p.pair === 'QFXJUMP_otc');
  expect(jump).toMatchObject({ source: 'http', suspect: true, suspectTicks: 1, lastSuspect: { price: 1.21, previous: 1.2, timestamp: now - 7000 }, usualGapMs: 125 }); // 100 + 0.05 * (600 - 100)
  // Kept: the jump is the pair's latest tick.
  const recent = await getJson(`${t.url}/api/ticks?pair=QFXJUMP_otc&limit=1`);
  expect(recent.map((x: { price: number }) => x.price)).toEqual([1.21]);

  // Silent for more than 5 s (10 usual gaps would be only 1 s): stale.
  await waitFor(async () => (await getJson(`${t.url}/health`)).feed.stale.length === 2, 15_000, 'both pairs stale');
  const m = await (await fetch(`${t.url}/metrics`)).text();
  expect(gauge(m, 'quflx_feed_stale_pairs')).toBe(2);
  expect(gauge(m, 'quflx_feed_suspect_pairs')).toBe(1);
  expect(m).toMatch(/quflx_feed_suspect_ticks_total\{source="http"\} 1/);

  // A new tick refreshes the pair.
  await postTicks(t.url, { pair: 'QFXQUIET_otc', price: 1.3001, timestamp: Date.now() });
  expect((await getJson(`${t.url}/health`)).feed.stale).toEqual(['QFXJUMP_otc']);
});
