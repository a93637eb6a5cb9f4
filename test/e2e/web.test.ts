import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt, openBrowser, type Browser } from '../helpers/browser.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { getJson, postTicks, startTestApp, uniquePrefix, waitFor, type TestApp } from '../helpers/test-app.js';
import type { Candle } from '../../src/shared/events.js';

/**
 * The browser app end to end: the real QuFLX (simulator on) serving the built page to Debian's
 * Chromium. The page is read through `window.__QUFLX__` (the charts' series data) and the DOM.
 */

/** Five pairs at 3000 ticks a minute each: the load the page must draw at 60 fps. */
const PAIRS = ['AUD/CAD_otc', 'EUR/JPY_otc', 'EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc'];
const ENV = { FEED: 'simulated', ASSETS: PAIRS.join(','), TICKS_PER_MINUTE: '3000' };

type Bar = Candle;

/** The page's globals as the test reads them (this file is compiled without the DOM lib). */
interface PageGlobals {
  __QUFLX__: {
    charts: Map<
      string,
      {
        bars(): Bar[];
        seriesData(): { time: number; close: number }[];
        indicatorValues(id: string): { time: number; value: unknown }[];
        live: boolean;
        chart: { panes(): unknown[]; timeScale(): { scrollToPosition(position: number, animated: boolean): void } };
      }
    >;
    client: { stats(pair: string): { seq: number | null }; latencyP50(): number | null };
  };
  document: { querySelector(selector: string): { dataset: Record<string, string> } | null };
}

let db: TestSchema;
let prefix: string;
let app: TestApp | null = null;
let port: number;
let browser: Browser;
let page: Page;
/** The page's Socket.IO link passes through the test, which can lose the server's candle events. */
let dropCandles = false;
let dropped = 0;
/**
 * When the restart test's server was closing, and when it held the lock on the rollups: a request
 * caught in either is answered 503 (retry), as it should be.
 */
const busy: { from: number; to: number }[] = [];
/** The page's requests answered 503 or cut, by URL: when each was sent and when it ended. */
const troubled = new Map<string, { sent: number; ended: number }[]>();
function noteTrouble(r: { url(): string; timing(): { startTime: number } }): void {
  const list = troubled.get(r.url()) ?? [];
  list.push({ sent: r.timing().startTime, ended: Date.now() });
  troubled.set(r.url(), list);
}

/** Two hours of past ticks per pair (one per 10 s), so indicators have history to start from. */
async function seedHistory(url: string): Promise<void> {
  const assets: { pair: string; price: number }[] = await waitFor(async () => {
    const a = await getJson(`${url}/api/assets`);
    return a.length >= PAIRS.length ? a : null;
  }, 10_000, 'first ticks of every pair');
  const end = Date.now() - 30_000;
  for (const { pair, price } of assets) {
    const digits = pair.includes('JPY') ? 3 : 5;
    const ticks = [];
    let p = price;
    for (let i = 0; i < 720; i++) {
      ticks.push({ pair, price: Number(p.toFixed(digits)), timestamp: end - i * 10_000 });
      p *= 1 + Math.sin(i / 40) * 0.0003 + (((i * 7919) % 13) - 6) * 0.00003;
    }
    const res = await postTicks(url, ticks);
    expect(res.status).toBe(202);
  }
}

async function start(overrides: Record<string, string> = {}): Promise<TestApp> {
  const env = { ...ENV, PORT: String(port ?? 0), ...overrides };
  const t = await startTestApp(env, { prefix, db, keepKeys: true });
  port = Number(new URL(t.url).port);
  return t;
}

/** What the main chart shows, read in the page. */
async function mainChart(from = 0): Promise<{ pair: string; timeframe: string; bars: Bar[]; series: { time: number; close: number }[]; live: boolean }> {
  return page.evaluate((from) => {
    const g = globalThis as unknown as PageGlobals;
    const c = g.__QUFLX__.charts.get('main')!;
    const el = g.document.querySelector('[data-chart="main"]')!;
    return {
      pair: el.dataset.pair!,
      timeframe: el.dataset.timeframe!,
      bars: c.bars().filter((b) => b.time >= from).map((b) => ({ ...b })),
      series: (c.seriesData() as { time: number; close: number }[]).filter((d) => d.time >= from).map((d) => ({ time: d.time, close: d.close })),
      live: c.live,
    };
  }, from);
}

function expectStrictlyIncreasing(times: number[]): void {
  for (let i = 1; i < times.length; i++) {
    if (times[i]! <= times[i - 1]!) throw new Error(`bar times not strictly increasing at ${i}: ${times[i - 1]} then ${times[i]}`);
  }
}

beforeAll(async () => {
  await ensureWebBuilt();
  db = await createTestSchema();
  prefix = uniquePrefix();
  app = await start();
  await seedHistory(app.url);
  browser = await openBrowser();
  page = browser.page;
  page.on('response', (r) => {
    if (r.status() === 503) noteTrouble(r.request());
  });
  page.on('requestfailed', (r) => noteTrouble(r));
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (dropCandles && typeof m === 'string' && m.startsWith('42["candle"')) dropped++;
      else ws.send(m);
    });
  });
  // The page runs under the server's Content-Security-Policy: any violation is a console error (see the last test).
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber))`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  // The last app kept its keys (restarts share them): remove them now.
  const { deleteKeys, TEST_REDIS_URL } = await import('../helpers/test-app.js');
  await deleteKeys(TEST_REDIS_URL, prefix);
  await db?.drop();
});

describe('the trading terminal in a browser', () => {
  test('the page loads and draws its first chart', async () => {
    const res = await page.goto(app!.url, { waitUntil: 'commit' });
    expect(res?.status(), 'GET / must serve the app: is registerWebRoutes wired in src/app.ts?').toBe(200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src 'self' 'sha256-/);
    expect(csp).toContain("frame-ancestors 'none'");
    await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).__QUFLX__?.charts.get('main')?.seriesData().length ?? 0) > 0, null, { timeout: 10_000, polling: 'raf' });
    // Navigation start to the first candles drawn.
    const firstChartMs = await page.evaluate(() => performance.now());
    console.log(`first chart drawn ${Math.round(firstChartMs)} ms after navigation`);
    // Speed is the benchmark's to measure (npm run bench); here only that the page does not hang.
    expect(firstChartMs).toBeLessThan(10_000);
    await expect.poll(() => page.locator('.pair-row').count()).toBe(PAIRS.length);
    await expect.poll(() => page.locator('.status-bar [data-connection]').getAttribute('data-connection')).toBe('live');
    await page.screenshot({ path: '/tmp/quflx-e2e-loaded.png' });
  });

  test('the chart moves with live ticks', async () => {
    // The history (HTTP) may have drawn the first bars before the live snapshot came in.
    await waitFor(async () => (await mainChart()).live, 5000, 'the live snapshot');
    const before = await mainChart();
    const last = before.bars[before.bars.length - 1]!;
    const shot1 = await page.locator('[data-chart="main"]').screenshot();
    // 50 ticks a second: within a second the forming bar has more ticks, or a new bar began.
    await waitFor(async () => {
      const now = await mainChart();
      const l = now.bars[now.bars.length - 1]!;
      return l.time > last.time || l.volume > last.volume;
    }, 5000, 'the last bar to move');
    const after = await mainChart();
    expectStrictlyIncreasing(after.series.map((d) => d.time));
    expect(after.series.length).toBe(after.bars.length);
    const shot2 = await page.locator('[data-chart="main"]').screenshot();
    expect(Buffer.compare(shot1, shot2)).not.toBe(0);
    // The status bar measures tick-to-screen latency.
    await expect.poll(() => page.locator('[data-latency]').getAttribute('data-latency'), { timeout: 7000 }).toMatch(/^\d/);
  });

  test('switching pair and timeframe', async () => {
    await page.locator('.pair-row[data-pair="USD/JPY_otc"]').click();
    await waitFor(async () => {
      const c = await mainChart();
      // USD/JPY trades near 150, the others near 1: the bars really are the new pair's.
      return c.pair === 'USD/JPY_otc' && c.live && c.bars.length > 0 && c.bars[c.bars.length - 1]!.close > 50;
    }, 10_000, 'USD/JPY on the chart');
    await expect.poll(() => page.locator('[data-selected-pair]').getAttribute('data-selected-pair')).toBe('USD/JPY_otc');

    await page.locator('button[data-timeframe="5S"]').click();
    await waitFor(async () => {
      const c = await mainChart();
      return c.timeframe === '5S' && c.live && c.bars.length > 10;
    }, 10_000, 'the 5S chart');
    const c = await mainChart();
    expect(c.bars.every((b) => b.time % 5 === 0)).toBe(true);
    expectStrictlyIncreasing(c.series.map((d) => d.time));
    // The 5S bars are the server's: compare with GET /api/candles (all but the forming bar).
    const server = await getJson(`${app!.url}/api/candles?pair=USD/JPY_otc&timeframe=5S&limit=50`);
    const byTime = new Map(c.bars.map((b) => [b.time, b]));
    for (const s of server.candles.slice(-30, -2) as Bar[]) expect(byTime.get(s.time), `bar ${s.time}`).toEqual(s);

    await page.locator('button[data-timeframe="1M"]').click();
    await waitFor(async () => {
      const m = await mainChart();
      return m.timeframe === '1M' && m.live && m.bars.length > 60 && m.bars.every((b) => b.time % 60 === 0);
    }, 10_000, 'the 1M chart');
  });

  test('an indicator pane appears from the menu and shows values', async () => {
    const panesBefore = await page.evaluate(() => (globalThis as unknown as PageGlobals).__QUFLX__.charts.get('main')!.chart.panes().length);
    await page.locator('[data-menu="indicators"]').click();
    await page.locator('[data-indicator="macd"] input').check();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).__QUFLX__.charts.get('main')!.chart.panes().length)).toBe(panesBefore + 1);
    // Values from the subscribe snapshot and the live candle events.
    await waitFor(
      () =>
        page.evaluate(() => {
          const values = (globalThis as unknown as PageGlobals).__QUFLX__.charts.get('main')!.indicatorValues('macd');
          const withValue = values.filter((v) => v.value !== null && typeof v.value === 'object' && Number.isFinite((v.value as Record<string, number>).macd));
          return withValue.length > 20;
        }),
      10_000,
      'MACD values',
    );
    const legend = await page.locator('.legend-row[data-indicator="macd"]').textContent();
    expect(legend).toMatch(/MACD.*-?\d+\.\d+/);
    await page.screenshot({ path: '/tmp/quflx-e2e-macd.png' });
  });

  test('scrolling back loads older bars, joined without a doubled bar', async () => {
    await page.locator('button[data-timeframe="5S"]').click();
    await waitFor(async () => {
      const c = await mainChart();
      return c.timeframe === '5S' && c.live && c.bars.length > 10;
    }, 10_000, 'the 5S chart');
    const before = await mainChart();
    expect(before.bars.length).toBeLessThanOrEqual(210); // the first page: the cache's 200 (+ live ones)
    await page.evaluate((n) => (globalThis as unknown as PageGlobals).__QUFLX__.charts.get('main')!.chart.timeScale().scrollToPosition(-n + 30, false), before.bars.length);
    await waitFor(async () => (await mainChart()).bars.length > before.bars.length + 100, 10_000, 'older bars');
    const after = await mainChart();
    expectStrictlyIncreasing(after.series.map((d) => d.time));
    expect(after.series.length).toBe(after.bars.length);
    const server = (await getJson(`${app!.url}/api/candles?pair=USD/JPY_otc&timeframe=5S&limit=${after.bars.length + 20}`)).candles as Bar[];
    const oldest = after.bars[0]!.time;
    const older = server.filter((b) => b.time >= oldest && b.time < before.bars[0]!.time);
    expect(after.bars.slice(0, older.length)).toEqual(older);
    await page.evaluate(() => (globalThis as unknown as PageGlobals).__QUFLX__.charts.get('main')!.chart.timeScale().scrollToPosition(0, false));
  });

  test('keeps drawing while five pairs stream 3000 ticks a minute each', async () => {
    const figures = await page.evaluate(async () => {
      const g = globalThis as unknown as { requestAnimationFrame(cb: (t: number) => void): number; __QUFLX__: PageGlobals['__QUFLX__'] };
      const gaps: number[] = [];
      let last = performance.now();
      const start = last;
      await new Promise<void>((resolve) => {
        const step = (t: number) => {
          gaps.push(t - last);
          last = t;
          if (t - start < 3000) g.requestAnimationFrame(step);
          else resolve();
        };
        g.requestAnimationFrame(step);
      });
      gaps.sort((a, b) => a - b);
      return { fps: gaps.length / ((last - start) / 1000), p95FrameMs: gaps[Math.floor(gaps.length * 0.95)]!, latencyP50: g.__QUFLX__.client.latencyP50() };
    });
    console.log(`frame rate ${figures.fps.toFixed(1)} fps, 95th percentile frame ${figures.p95FrameMs.toFixed(1)} ms, tick-to-screen p50 ${figures.latencyP50} ms`);
    // The frame rate is the benchmark's figure (paint_fps); here: the page never freezes under the stream.
    expect(figures.fps).toBeGreaterThan(10);
    expect(figures.latencyP50).not.toBeNull();
  });

  test('after the server restarts under load, the chart resumes without a gap or a doubled bar, and every closed bar is the server\'s', async () => {
    await waitFor(async () => {
      const c = await mainChart();
      return c.timeframe === '5S' && c.live && c.bars.length > 10;
    }, 10_000, 'the 5S chart');
    // Load, made on purpose and the same in every run: the page runs at a quarter of the CPU;
    // the database answers the chart's subscribe slowly (a lock on the rollups holds its candle
    // read across a bar's close, so that bar closes while the subscribe is answered); and the
    // server's candle events are lost on the way until a second after that (the ticks still
    // come), as when the gateway cannot read them in time. The bar that closed meanwhile is then
    // in neither the snapshot nor an event: the page has to read it again.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    // The page's reads of its newest bars (not the history pages, which have before=).
    const rereads: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (/\/api\/candles\?/.test(r.url()) && !r.url().includes('before=')) rereads.push(r.url());
    };
    page.on('request', onRequest);
    const lock = await db.pool.connect();
    let locked = true;
    let lockedAt = Number.POSITIVE_INFINITY;
    const unlock = async () => {
      if (!locked) return;
      locked = false;
      await lock.query('COMMIT').catch(() => undefined);
      lock.release();
      busy.push({ from: lockedAt, to: Date.now() });
    };
    const nextBarClose = async () => {
      const wait = 5000 - (Date.now() % 5000) + 300;
      await new Promise((r) => setTimeout(r, wait));
    };
    try {
      const seqBefore = await page.evaluate(() => (globalThis as unknown as PageGlobals).__QUFLX__.client.stats('USD/JPY_otc').seq ?? 0);
      const restartAt = Date.now();
      await app!.close();
      busy.push({ from: restartAt, to: Date.now() });
      app = null;
      await expect.poll(() => page.locator('.status-bar [data-connection]').getAttribute('data-connection'), { timeout: 10_000 }).not.toBe('live');
      await page.screenshot({ path: '/tmp/quflx-e2e-disconnected.png' });
      await new Promise((r) => setTimeout(r, 1500));
      dropCandles = true;
      lockedAt = Date.now();
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE tick_rollups IN ACCESS EXCLUSIVE MODE');
      const holder = (await lock.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      // A fifth of the tick rate after the restart. Beside other browser tests, the throttled
      // page has sometimes had no candle event or tick for 30 s after the restart (cause not
      // found), and this test is about the bars, not the rate.
      app = await start({ TICKS_PER_MINUTE: '600' });
      await expect.poll(() => page.locator('.status-bar [data-connection]').getAttribute('data-connection'), { timeout: 15_000 }).toBe('live');
      const resumedAt = Date.now();
      await waitFor(
        async () => (await db.pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query ILIKE 'select%tick_rollups%'", [holder])).rows[0].n > 0,
        15_000,
        'the chart\'s subscribe waiting for the database',
      );
      await nextBarClose();
      await unlock();
      // Lost until a second after the first one (on a loaded machine the subscribe's answer, and
      // the events after it, can take longer than that second to come).
      await waitFor(() => dropped > 0, 30_000, 'a candle event lost on the way after the subscribe');
      await new Promise((r) => setTimeout(r, 1000));
      dropCandles = false;
      expect(dropped).toBeGreaterThan(0);
      // New ticks after the restart reach the chart.
      await waitFor(() => page.evaluate((s) => ((globalThis as unknown as PageGlobals).__QUFLX__.client.stats('USD/JPY_otc').seq ?? 0) > s + 50, seqBefore), 30_000, 'ticks after the restart');

      // Every bar the server has since before the restart is on the chart, identical (the bar
      // forming at either read aside), and the chart has no bar the server does not: within the
      // page's repair delay, so the comparison is read again until then.
      const from = Math.floor((restartAt - 30_000) / 5000) * 5;
      let differences: string[] = [];
      const compare = async () => {
        const c = await mainChart(from);
        const server = (await getJson(`${app!.url}/api/candles?pair=USD/JPY_otc&timeframe=5S&limit=200`)).candles as Bar[];
        const shape: string[] = [];
        try {
          expectStrictlyIncreasing(c.series.map((d) => d.time));
        } catch (err) {
          shape.push((err as Error).message);
        }
        const serverBars = server.filter((b) => b.time >= from);
        const clientBars = c.bars.filter((b) => b.time >= from);
        // The chart was read before the server: a bar forming at either read may have grown since.
        const last = Math.min(serverBars[serverBars.length - 1]!.time, clientBars[clientBars.length - 1]!.time);
        // The series takes live data a frame after the model (a new bar may not be drawn yet).
        const drawn = c.series.filter((d) => d.time < last).map((d) => d.time);
        const modelled = clientBars.filter((b) => b.time < last).map((b) => b.time);
        if (JSON.stringify(drawn) !== JSON.stringify(modelled)) shape.push(`the series holds bars ${drawn.join(',')}, the model ${modelled.join(',')}`);
        const mine = new Map(clientBars.filter((b) => b.time < last).map((b) => [b.time, b]));
        const theirs = new Map(serverBars.filter((b) => b.time < last).map((b) => [b.time, b]));
        differences = [...new Set([...mine.keys(), ...theirs.keys()])]
          .sort((a, b) => a - b)
          .filter((t) => JSON.stringify(mine.get(t)) !== JSON.stringify(theirs.get(t)))
          .map((t) => `bar ${t}: chart ${JSON.stringify(mine.get(t))}, server ${JSON.stringify(theirs.get(t))}`)
          .concat(shape);
        return differences.length === 0 && mine.size > 3;
      };
      const settled = await waitFor(compare, 20_000, 'every closed bar to be the server\'s').then(
        () => null,
        (err: Error) => err.message,
      );
      expect(differences).toEqual([]);
      expect(settled).toBeNull(); // and the comparison did run, over more than three closed bars
      // The bar that closed while the subscribe was answered got no event: the page read it again.
      expect(rereads.length).toBeGreaterThanOrEqual(1);
      console.log(`resumed ${resumedAt - restartAt} ms after the server stopped; ${dropped} candle events dropped; ${rereads.length} re-read(s) of the newest bars`);
    } finally {
      page.off('request', onRequest);
      dropCandles = false;
      await unlock();
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 }).catch(() => undefined);
      await cdp.detach().catch(() => undefined);
    }
    await page.screenshot({ path: '/tmp/quflx-e2e-resumed.png' });
  }, 150_000);

  test('no console errors or warnings', () => {
    // While the server is down the browser itself reports the refused connections: not the app's.
    // A 503 to a request in flight while the server closed or while the rollups were locked is
    // the server's right answer, and a request cut by the closing server is expected too
    // (matched by the request's times, not the console line's: a throttled page may log it
    // seconds after).
    const inBusy = (r: { sent: number; ended: number }) => busy.some((b) => r.sent <= b.to && r.ended >= b.from);
    const expectedFailure = (p: { text: string; from?: string }) =>
      / 503 |ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/.test(p.text) && p.from !== undefined && (troubled.get(p.from) ?? []).some(inBusy);
    const problems = browser.problems.filter((p) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(p.text) && !expectedFailure(p));
    expect(problems.map((p) => (p.from ? `${p.text} (${p.from})` : p.text))).toEqual([]);
  });
});
