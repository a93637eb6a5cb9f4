import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CdpFeed } from '../../src/feeds/cdp/cdp-feed.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { startChromium, type ChromiumProcess } from '../helpers/chromium-process.js';
import { eio3BinaryEvent, eio4BinaryEvent, FakeBroker, navigatePage, RELOAD_PAGE, textEvent } from '../helpers/fake-broker.js';
import { getJson, startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';

/**
 * FEED=cdp:// against real headless Chromium: a fake broker's pages receive quotes over their
 * WebSockets, QuFLX reads the frames through the DevTools protocol, and every tick ends up in
 * Redis and PostgreSQL once, with its exact price and time.
 */

interface Expected {
  pair: string;
  price: number;
  timestamp: number;
}

// Whole seconds an hour ago, so every time is in the past and seconds/ms conversions are exact.
const BASE_S = Math.floor(Date.now() / 1000) - 3600;

/** `n` ticks of `pair`: times at BASE_S + offset + i seconds and 123 ms, prices distinct. */
function series(pair: string, offset: number, n: number, price0: number): Expected[] {
  return Array.from({ length: n }, (_, i) => ({
    pair,
    timestamp: (BASE_S + offset + i) * 1000 + 123,
    price: Math.round((price0 + i * 0.00013) * 1e5) / 1e5,
  }));
}

/** As a broker sends them in rows: `[asset, seconds with a fraction, price]`. */
const rows = (ticks: Expected[]) => ticks.map((t) => [t.pair, t.timestamp / 1000, t.price]);

async function storedRows(t: TestApp, pair: string): Promise<Expected[]> {
  const r = await t.db.pool.query<{ price: number; timestamp: string }>(
    'SELECT price, "timestamp" FROM historical_ticks WHERE pair = $1 ORDER BY "timestamp"',
    [pair],
  );
  return r.rows.map((x) => ({ pair, price: x.price, timestamp: Number(x.timestamp) }));
}

async function recentTicks(t: TestApp, pair: string): Promise<Expected[]> {
  const ticks = (await getJson(`${t.url}/api/ticks?pair=${encodeURIComponent(pair)}&limit=1000`)) as Expected[];
  return ticks.map(({ pair: p, price, timestamp }) => ({ pair: p, price, timestamp })).sort((a, b) => a.timestamp - b.timestamp);
}

/** Waits until PostgreSQL holds `expected.length` rows of the pair, then checks them and Redis exactly. */
async function expectStoredOnce(t: TestApp, expected: Expected[]): Promise<void> {
  const pair = expected[0]!.pair;
  await waitFor(async () => (await storedRows(t, pair)).length >= expected.length, 30_000, `${expected.length} rows of ${pair}`);
  const want = [...expected].sort((a, b) => a.timestamp - b.timestamp);
  expect(await storedRows(t, pair)).toEqual(want);
  // Once in Redis too: a tick seen twice (two tabs, a replay) got no second seq.
  expect(await recentTicks(t, pair)).toEqual(want);
}

async function openTab(chrome: ChromiumProcess, url: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${chrome.port}/json/new?${url.replace(/&/g, '%26')}`, { method: 'PUT' });
  if (!res.ok) throw new Error(`could not open ${url}: ${res.status}`);
}

async function metricsText(t: TestApp): Promise<string> {
  return (await fetch(`${t.url}/metrics`)).text();
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('FEED=cdp:// reads the broker pages in Chrome', { timeout: 90_000 }, () => {
  let broker: FakeBroker;
  let chrome: ChromiumProcess;
  let t: TestApp;

  beforeAll(async () => {
    broker = await FakeBroker.start();
    // This page and its socket exist before QuFLX attaches: no webSocketCreated will come for it.
    chrome = await startChromium({ urls: [`${broker.url}/trade?page=before`] });
    await waitFor(() => broker.connections('before') === 1, 30_000, 'the early page to connect');
    broker.repeat('before', [textEvent('balance', { value: 1 }), '2'], 100);
    t = await startTestApp({ FEED: `cdp://127.0.0.1:${chrome.port}`, BATCH_INTERVAL_MS: '200' });
  });

  afterAll(async () => {
    await t?.close();
    await chrome?.kill();
    await broker?.close();
  });

  test('a page opened before QuFLX attached: its socket is read from the first frame after attaching', async () => {
    // The socket is known once its first frame (noise) has been read.
    await waitFor(async () => (await getJson(`${t.url}/health`)).feed?.sockets >= 1, 30_000, 'the early socket to be seen');
    const ticks = series('QFXEARLY_otc', 0, 12, 1.0842);
    await broker.send('before', eio4BinaryEvent('updateStream', rows(ticks.slice(0, 6))));
    await broker.send('before', [textEvent('updateStream', rows(ticks.slice(6)))]);
    await expectStoredOnce(t, ticks);
  });

  test('pages (Engine.IO v4 and v3), a Worker, a SharedWorker and a second tab: every tick once, exact', async () => {
    await openTab(chrome, `${broker.url}/trade?page=v4,v3&eio3=v3&worker=wk&shared=sh`);
    await openTab(chrome, `${broker.url}/trade?page=twin`);
    await openTab(chrome, `${broker.url}/trade?page=twin`);
    for (const s of ['v4', 'v3', 'wk', 'sh']) await waitFor(() => broker.connections(s) === 1, 30_000, `socket ${s}`);
    await waitFor(() => broker.connections('twin') === 2, 30_000, 'both twin tabs');

    const v4 = series('QFXBIN4_otc', 100, 20, 1.2711);
    const v3 = series('QFXBIN3_otc', 200, 20, 0.6612);
    const text = series('QFXTEXT_otc', 300, 10, 151.201);
    const worker = series('QFXWORK_otc', 400, 10, 0.9015);
    const shared = series('QFXSHARE_otc', 500, 10, 1.3377);
    const twin = series('QFXTWIN_otc', 600, 15, 1.1111);

    // Engine.IO v4 page: housekeeping and noise around binary and text events.
    await broker.send('v4', [
      '2',
      '3',
      '40',
      textEvent('balance', { value: 1 }),
      ...eio4BinaryEvent('updateStream', rows(v4.slice(0, 10))),
      '6',
      '42["broken", {"value":',
      ...eio4BinaryEvent('updateStream', rows(v4.slice(10))),
      // Objects with asset/price/time in milliseconds, as one text event.
      textEvent('quotes', text.map((x) => ({ asset: x.pair, price: x.price, time: x.timestamp }))),
    ]);
    // Engine.IO v3: each attachment starts with the 0x04 byte.
    await broker.send('v3', [...eio3BinaryEvent('updateStream', rows(v3.slice(0, 5))), '2', ...eio3BinaryEvent('updateStream', rows(v3.slice(5)))]);
    // A Worker's socket: objects with symbol/rate/ts in seconds.
    await broker.send('wk', [textEvent('ticks', worker.map((x) => ({ symbol: x.pair, rate: x.price, ts: x.timestamp / 1000 })))]);
    // A SharedWorker's socket: QuFLX ticks, one per event.
    await broker.send('sh', shared.map((x) => textEvent('tick', x)));
    // Two tabs receive the very same ticks.
    await broker.send('twin', eio4BinaryEvent('updateStream', rows(twin)));

    for (const ticks of [v4, v3, text, worker, shared, twin]) await expectStoredOnce(t, ticks);

    const health = await getJson(`${t.url}/health`);
    expect(health.status).toBe('ok');
    expect(health.feed).toMatchObject({ kind: 'cdp', status: 'up', attaches: 1, browser: expect.stringMatching(/Chrom/) });
    expect(health.feed.pages).toBeGreaterThanOrEqual(4);
    expect(health.feed.sockets).toBeGreaterThanOrEqual(7);
    const types = new Set(health.feed.targets.map((x: { type: string }) => x.type));
    expect([...types].sort()).toEqual(expect.arrayContaining(['page', 'shared_worker', 'worker']));
    // Page URLs without their query strings (a broker's may hold a session token).
    for (const x of health.feed.targets) expect(x.url).not.toContain('?');
    const pairHealth = health.feed.pairs.find((p: { pair: string }) => p.pair === 'QFXTWIN_otc');
    expect(pairHealth).toMatchObject({ source: 'cdp', stale: false, suspect: false, lastTimestamp: twin[twin.length - 1]!.timestamp });
    expect(pairHealth.ageMs).toBeGreaterThanOrEqual(0);

    const m = await metricsText(t);
    expect(metricValue(m, 'quflx_feed_frames_total', 'source="cdp"')).toBeGreaterThan(20);
    expect(metricValue(m, 'quflx_feed_frame_ticks_total', 'source="cdp"')).toBeGreaterThanOrEqual(12 + 20 + 20 + 10 + 10 + 10 + 2 * 15);
    for (const reason of ['control', 'no_ticks', 'bad_json']) {
      expect(metricValue(m, 'quflx_feed_frames_without_ticks_total', `reason="${reason}"`)).toBeGreaterThan(0);
    }
    expect(metricValue(m, 'quflx_ticks_duplicate_total', 'source="cdp"')).toBeGreaterThanOrEqual(15);
    expect(m).toMatch(/quflx_feed_up\{source="cdp"\} 1/);
    expect(m).toMatch(/quflx_feed_stale_pairs \d+/);
  });

  test('a reload: the new socket of the same tab is read', async () => {
    await openTab(chrome, `${broker.url}/trade?page=reload`);
    await waitFor(() => broker.connections('reload') === 1, 30_000, 'reload page');
    const first = series('QFXRELOAD_otc', 700, 5, 1.5);
    await broker.send('reload', [textEvent('updateStream', rows(first))]);
    await expectStoredOnce(t, first);
    await broker.send('reload', [RELOAD_PAGE]);
    await waitFor(() => broker.openedTotal('reload') === 2 && broker.connections('reload') === 1, 30_000, 'the reloaded page to connect');
    const second = series('QFXRELOAD_otc', 705, 5, 1.6);
    await broker.send('reload', [textEvent('updateStream', rows(second))]);
    await expectStoredOnce(t, [...first, ...second]);
  });
});

describe('CDP_URL_FILTER', { timeout: 90_000 }, () => {
  test('only pages whose URL contains the filter are read, with their workers; a page that navigates to it is read from then on', async () => {
    const broker = await FakeBroker.start();
    const chrome = await startChromium();
    let t: TestApp | undefined;
    try {
      t = await startTestApp({ FEED: `cdp://127.0.0.1:${chrome.port}`, CDP_URL_FILTER: 'page=wanted', BATCH_INTERVAL_MS: '200' });
      await waitFor(async () => (await getJson(`${t!.url}/health`)).feed?.status === 'up', 30_000, 'attach');
      await openTab(chrome, `${broker.url}/trade?page=other`);
      // The shared worker's own URL lacks the filter text: it is read because a read page has its origin.
      await openTab(chrome, `${broker.url}/trade?page=wanted&worker=wantedworker&shared=wantedshared`);
      for (const s of ['other', 'wanted', 'wantedworker', 'wantedshared']) await waitFor(() => broker.connections(s) === 1, 30_000, `socket ${s}`);
      const wanted = series('QFXWANT_otc', 0, 5, 1.2);
      const fromWorker = series('QFXWANTW_otc', 0, 5, 1.3);
      const fromShared = series('QFXWANTS_otc', 0, 5, 1.35);
      const other = series('QFXOTHER_otc', 0, 5, 1.4);
      await broker.send('other', [textEvent('updateStream', rows(other))]);
      await broker.send('wanted', [textEvent('updateStream', rows(wanted))]);
      await broker.send('wantedworker', [textEvent('updateStream', rows(fromWorker))]);
      await broker.send('wantedshared', [textEvent('updateStream', rows(fromShared))]);
      await expectStoredOnce(t, wanted);
      await expectStoredOnce(t, fromWorker);
      await expectStoredOnce(t, fromShared);
      // The other page is attached but not read: its ticks, sent first, were never taken.
      const targets = (await getJson(`${t.url}/health`)).feed.targets as { type: string; url: string; read: boolean; sockets: number }[];
      const trade = targets.filter((x) => x.type === 'page' && x.url === `${broker.url}/trade`);
      expect(trade.map((x) => [x.read, x.sockets]).sort()).toEqual([
        [false, 0],
        [true, 1],
      ]);
      expect(await storedRows(t, 'QFXOTHER_otc')).toEqual([]);
      expect(metricValue(await metricsText(t), 'quflx_ticks_accepted_total', 'source="cdp"')).toBe(15);

      // The unread tab goes to a wanted URL: from then on it is read.
      await broker.send('other', [navigatePage(`${broker.url}/trade?page=wanted2`)]);
      await waitFor(() => broker.connections('wanted2') === 1, 30_000, 'the navigated page to connect');
      // Network goes on when the URL changes; its socket counts once a frame of it was read.
      broker.repeat('wanted2', ['2'], 100);
      await waitFor(async () => (await getJson(`${t!.url}/health`)).feed.sockets >= 4, 30_000, 'the navigated page read');
      const navigated = series('QFXNAV_otc', 0, 5, 1.45);
      await broker.send('wanted2', [textEvent('updateStream', rows(navigated))]);
      await expectStoredOnce(t, navigated);
    } finally {
      await t?.close();
      await chrome.kill();
      await broker.close();
    }
  });
});

describe('Chrome going away', () => {
  test('Chromium killed and started again on the same port: QuFLX attaches again and ticks flow', async () => {
    const broker = await FakeBroker.start();
    let chrome = await startChromium({ urls: [`${broker.url}/trade?page=one`] });
    const port = chrome.port;
    let t: TestApp | undefined;
    try {
      t = await startTestApp({ FEED: `cdp://127.0.0.1:${port}`, BATCH_INTERVAL_MS: '200' });
      await waitFor(() => broker.connections('one') === 1, 30_000, 'first page');
      broker.repeat('one', ['2'], 100);
      await waitFor(async () => (await getJson(`${t!.url}/health`)).feed?.sockets >= 1, 30_000, 'first socket seen');
      const before = series('QFXCRASH_otc', 0, 5, 1.01);
      await broker.send('one', [textEvent('updateStream', rows(before))]);
      await expectStoredOnce(t, before);

      await chrome.kill();
      await waitFor(async () => (await getJson(`${t!.url}/health`)).feed?.status === 'down', 30_000, 'feed down');
      const down = await getJson(`${t.url}/health`);
      expect(down.status).toBe('degraded');
      expect(down.feed.state).toBe('connecting');

      chrome = await startChromium({ port, urls: [`${broker.url}/trade?page=two`] });
      expect(chrome.port).toBe(port);
      await waitFor(async () => (await getJson(`${t!.url}/health`)).feed?.attaches >= 2, 30_000, 're-attach');
      await waitFor(() => broker.connections('two') === 1, 30_000, 'second page');
      broker.repeat('two', ['2'], 100);
      await waitFor(async () => (await getJson(`${t!.url}/health`)).feed?.sockets >= 1, 30_000, 'socket after restart');
      const after = series('QFXCRASH_otc', 10, 5, 1.02);
      await broker.send('two', [textEvent('updateStream', rows(after))]);
      await expectStoredOnce(t, [...before, ...after]);
      expect((await getJson(`${t.url}/health`)).status).toBe('ok');
    } finally {
      await t?.close();
      await chrome.kill();
      await broker.close();
    }
  }, 120_000);
});

describe('no Chrome on the port', () => {
  test('nothing listening, or something that is not Chrome: the feed waits, says why, and closes at once', async () => {
    const other = createServer((_req, res) => res.writeHead(404).end('not chrome'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const otherPort = (other.address() as AddressInfo).port;
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const freePort = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const metrics = new Metrics({ defaultMetrics: false });
    const feeds = [otherPort, freePort].map(
      (port) => new CdpFeed({ host: '127.0.0.1', port, log: createLogger('silent'), metrics, minBackoffMs: 20, maxBackoffMs: 50 }),
    );
    try {
      await waitFor(() => feeds.every((f) => f.lastError !== null), 10_000, 'both to fail');
      expect(feeds[0]!.describe()).toMatchObject({ status: 'down', state: 'connecting', attaches: 0 });
      expect(feeds[0]!.lastError).toContain('not a Chrome DevTools port');
      expect(feeds[1]!.lastError).toMatch(/no browser answers at 127\.0\.0\.1:\d+ \(ECONNREFUSED\); start it with `npm run chrome`/);
      expect(await metrics.registry.getSingleMetricAsString('quflx_feed_up')).toContain('quflx_feed_up{source="cdp"} 0');
    } finally {
      const t0 = Date.now();
      await Promise.all(feeds.map((f) => f.close()));
      expect(Date.now() - t0).toBeLessThan(5000);
      other.close();
    }
    expect(feeds[0]!.describe().state).toBe('closed');
  });
});
