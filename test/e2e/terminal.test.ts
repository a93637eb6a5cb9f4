import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TIMEFRAMES } from '../../src/core/timeframe.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { asEpochMs } from '../../src/core/units.js';
import { ensureWebBuilt, openBrowser, type Browser } from '../helpers/browser.js';
import { createTestSchema } from '../helpers/test-db.js';
import { getJson, postTicks, startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';

/**
 * The terminal where a trader first touches it, in Debian's Chromium: short histories, fresh
 * databases, fast clicks, deep links, paging back through days of history, the time zone.
 */

const PAIRS = ['AUD/CAD_otc', 'EUR/JPY_otc', 'EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc'];
const DAY = 86_400_000;

interface ChartInfo {
  pair: string;
  timeframe: string;
  state: string;
  bars: number;
  times: number[];
  live: boolean;
  legend: string;
  ema: number;
}

/** What a chart on the page shows (read through window.__QUFLX__ and the DOM). */
async function chartInfo(page: Page, id = 'main'): Promise<ChartInfo | null> {
  return page.evaluate((chartId) => {
    const g = globalThis as any;
    const c = g.__QUFLX__?.charts.get(chartId);
    const el = g.document.querySelector(`[data-chart="${chartId}"]`);
    if (!c || !el) return null;
    const data = c.seriesData() as { time: number }[];
    return {
      pair: el.dataset.pair,
      timeframe: el.dataset.timeframe,
      state: el.dataset.state,
      bars: data.length,
      times: data.map((d) => d.time),
      live: c.live,
      legend: el.querySelector('.legend')?.textContent ?? '',
      ema: typeof c.indicatorValues === 'function' ? c.indicatorValues('ema20').filter((v: { value: unknown }) => v.value !== null).length : 0,
    };
  }, id);
}

function strictlyIncreasing(times: number[]): boolean {
  return times.every((t, i) => i === 0 || t > times[i - 1]!);
}

const refused = (text: string) => /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(text);

// Many views a test, each a page load, on a shared two-core machine: generous deadlines.
describe('the terminal on a running QuFLX', { timeout: 180_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await ensureWebBuilt();
    app = await startTestApp({ FEED: 'simulated', ASSETS: PAIRS.join(','), TICKS_PER_MINUTE: '1500', SIMULATOR_HISTORY_HOURS: '30' });
    await waitFor(async () => (await getJson(`${app.url}/api/candles?pair=EUR/JPY_otc&timeframe=1M`)).candles.length === 200, 30_000, 'the simulator history');
    const now = Date.now();
    // A pair with four days: four 1D bars. Each day's ticks stay inside its UTC day (a run just
    // after midnight must not put today's in yesterday).
    const today = Math.floor(now / DAY) * DAY;
    const at = (d: number, k: number) => (d === 0 ? Math.max(today + k, now - k * 60_000 - 1000) : today - d * DAY + DAY / 2 + k * 60_000);
    const fourDays = [3, 2, 1, 0].flatMap((d) => [0, 1, 2].map((k) => ({ pair: 'DAY/FOUR', price: 1.2 + d / 100 + k / 1000, timestamp: at(d, k) })));
    expect((await postTicks(app.url, fourDays)).status).toBe(202);
    // A pair with three days of 1M stored (as an import would), and a tick now so it is listed.
    const start = now - 3 * DAY;
    const stored = Array.from({ length: 3 * 1440 }, (_, i) => ({ pair: 'THREE/DAYS', price: Number((1.3 + Math.sin(i / 50) / 100).toFixed(5)), timestamp: asEpochMs(start + i * 60_000 + 1500) }));
    await insertTicks(app.db.pool, stored.map(toRow));
    expect((await postTicks(app.url, { pair: 'THREE/DAYS', price: 1.3, timestamp: now })).status).toBe(202);
    browser = await openBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  test('a 1D view with 4 bars: drawn, live, and out of the loading state', async () => {
    await page.goto(`${app.url}/?pair=DAY/FOUR&tf=1D&layout=1`);
    await waitFor(async () => {
      const c = await chartInfo(page);
      return c && c.live && c.bars === 4 && c.state === 'live';
    }, 30_000, 'four daily bars, live');
    const c = (await chartInfo(page))!;
    expect(strictlyIncreasing(c.times)).toBe(true);
    expect(c.times.every((t) => t % 86_400 === 0)).toBe(true);
    expect(c.legend).toMatch(/^DAY\/FOUR\s*1D/);
    expect(await page.locator('.chart-message').count()).toBe(0);
    await page.screenshot({ path: '/tmp/quflx-e2e-1d-four.png' });
  });

  test('deep links: every timeframe and tick open that view, and the URL keeps it', async () => {
    for (const tf of [...TIMEFRAMES, 'tick']) {
      await page.goto(`${app.url}/?pair=GBP/USD_otc&tf=${tf.toLowerCase()}&layout=1`);
      await waitFor(async () => {
        const c = await chartInfo(page);
        return c && c.timeframe === tf && c.pair === 'GBP/USD_otc' && c.live && c.bars > 0 && c.state === 'live';
      }, 30_000, `the ${tf} view`);
      const c = (await chartInfo(page))!;
      expect(c.legend).toMatch(new RegExp(`^GBP/USD_otc\\s*${tf === 'tick' ? 'Tick' : tf}`));
      expect(strictlyIncreasing(c.times)).toBe(true);
      expect(await page.evaluate(() => (globalThis as any).location.search)).toBe(`?pair=GBP/USD_otc&tf=${tf}&layout=1`);
      expect(await page.locator(`button[data-timeframe="${tf}"]`).getAttribute('aria-checked')).toBe('true');
    }
    await page.screenshot({ path: '/tmp/quflx-e2e-tick.png' });
  });

  test('deep links: every layout; choices push history entries, back and forward move between views', async () => {
    for (const layout of [1, 2, 3, 4]) {
      await page.goto(`${app.url}/?pair=USD/JPY_otc&tf=5M&layout=${layout}`);
      if (layout === 1) {
        await waitFor(async () => (await chartInfo(page))?.live, 30_000, 'the single chart');
        expect(await page.locator('.grid-cell').count()).toBe(0);
      } else {
        await expect.poll(() => page.locator('.grid-cell').count(), { timeout: 30_000 }).toBe(layout);
        for (let i = 0; i < layout; i++) await waitFor(async () => (await chartInfo(page, `grid-${i}`))?.live, 30_000, `grid chart ${i}`);
        // The linked pair is on screen.
        const pairs = await page.locator('.grid-cell [data-chart]').evaluateAll((els) => els.map((e) => (e as any).dataset.pair));
        expect(pairs).toContain('USD/JPY_otc');
        expect(new Set(pairs).size).toBe(layout);
      }
      expect(await page.locator(`button[data-layout="${layout}"]`).getAttribute('aria-checked')).toBe('true');
    }
    await page.screenshot({ path: '/tmp/quflx-e2e-layout4.png' });

    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(async () => (await chartInfo(page))?.live, 30_000, 'the 1M chart');
    await page.locator('button[data-timeframe="5M"]').click();
    await page.locator('.pair-row[data-pair="AUD/CAD_otc"]').click();
    await page.locator('button[data-layout="2"]').click();
    const search = () => page.evaluate(() => (globalThis as any).location.search as string);
    expect(await search()).toBe('?pair=AUD/CAD_otc&tf=5M&layout=2');
    await page.goBack();
    await expect.poll(search).toBe('?pair=AUD/CAD_otc&tf=5M&layout=1');
    await waitFor(async () => {
      const c = await chartInfo(page);
      return c && c.pair === 'AUD/CAD_otc' && c.timeframe === '5M' && c.live;
    }, 10_000, 'back to one AUD/CAD 5M chart');
    await page.goBack();
    await page.goBack();
    await expect.poll(search).toBe('?pair=EUR/USD_otc&tf=1M&layout=1');
    await waitFor(async () => {
      const c = await chartInfo(page);
      return c && c.pair === 'EUR/USD_otc' && c.timeframe === '1M' && c.live;
    }, 10_000, 'back to EUR/USD 1M');
    await page.goForward();
    await expect.poll(search).toBe('?pair=EUR/USD_otc&tf=5M&layout=1');
    await waitFor(async () => (await chartInfo(page))?.timeframe === '5M', 10_000, 'forward to 5M');
  });

  test('30 fast pair switches: the page follows the last click, live with indicators, without a subscribe per click', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(async () => (await chartInfo(page))?.live, 30_000, 'the first chart');
    await page.waitForTimeout(500);
    const sentBefore = await page.evaluate(() => (globalThis as any).__QUFLX__.client.subscribesSent as number);
    const order = ['GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc', 'EUR/JPY_otc', 'EUR/USD_otc'];
    // Clicked in the page, 40 ms apart (a driven click from outside takes longer than that).
    const clicking = await page.evaluate(async (pairs) => {
      const g = globalThis as any;
      const started = g.performance.now();
      const clickedAt: number[] = [];
      for (let i = 0; i < 30; i++) {
        clickedAt.push(g.performance.now());
        g.document.querySelector(`.pair-row[data-pair="${pairs[i % pairs.length]}"]`).click();
        await new Promise((r) => setTimeout(r, 40));
      }
      // Gaps long enough for the client's 150 ms settle time to pass (with a margin for the
      // page's effects running later than the click): each may rightly let a subscribe through.
      const slowGaps = clickedAt.filter((t, i) => i > 0 && t - clickedAt[i - 1]! > 100).length;
      return { ms: g.performance.now() - started, slowGaps };
    }, order);
    const last = order[29 % order.length]!;
    const lastClick = Date.now();
    console.log(`30 switches clicked in ${Math.round(clicking.ms)} ms, ${clicking.slowGaps} gap(s) over 100 ms`);
    await waitFor(async () => {
      const c = await chartInfo(page);
      return c && c.pair === last && c.live && c.ema > 100 && c.state === 'live';
    }, 10_000, 'the last choice live with its indicators');
    console.log(`30 switches: live on the last choice ${Date.now() - lastClick} ms after the last click`);
    const sent = (await page.evaluate(() => (globalThis as any).__QUFLX__.client.subscribesSent as number)) - sentBefore;
    console.log(`30 switches: ${sent} subscribes sent`);
    // The first of the burst, the last, and one per pause the slow machine made between clicks:
    // not one per click.
    expect(sent).toBeLessThanOrEqual(2 + clicking.slowGaps);
    const c = (await chartInfo(page))!;
    const server = (await getJson(`${app.url}/api/candles?pair=${last}&timeframe=1M`)).candles as { time: number }[];
    expect(c.times.slice(-50, -2)).toEqual(server.map((b) => b.time).slice(-50, -2).filter((t) => c.times.includes(t)));
  });

  test('scrolling back pages through three days of 1M, each page fetched once, every bar once', async () => {
    const pages: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/candles') && r.url().includes('before=') && r.url().includes('THREE')) pages.push(r.url());
    });
    await page.goto(`${app.url}/?pair=THREE/DAYS&tf=1M&layout=1`);
    await waitFor(async () => (await chartInfo(page))?.live, 30_000, 'the 1M chart');
    let before = 0;
    for (let i = 0; i < 40; i++) {
      const c = (await chartInfo(page))!;
      if (c.bars >= 3 * 1440) break;
      await page.evaluate((n) => (globalThis as any).__QUFLX__.charts.get('main').chart.timeScale().scrollToPosition(-n + 5, false), c.bars);
      await waitFor(async () => (await chartInfo(page))!.bars > c.bars || (await chartInfo(page))!.bars === before, 10_000, 'an older page');
      before = c.bars;
      await page.waitForTimeout(100);
    }
    const c = (await chartInfo(page))!;
    const server = (await getJson(`${app.url}/api/candles?pair=THREE/DAYS&timeframe=1M&limit=5000`)).candles as { time: number }[];
    expect(server.length).toBeGreaterThanOrEqual(3 * 1440);
    expect(c.times.slice(0, 3 * 1440)).toEqual(server.map((b) => b.time).slice(0, 3 * 1440));
    expect(strictlyIncreasing(c.times)).toBe(true);
    expect(new Set(pages).size).toBe(pages.length); // each page once
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil((3 * 1440 - 200) / 500));
    await page.screenshot({ path: '/tmp/quflx-e2e-scrolled.png' });
  });

  test('one time zone for the page: UTC or local, labelled, remembered', async () => {
    const tz = await openBrowser({ width: 1440, height: 900 }, { timezoneId: 'Asia/Kolkata' });
    try {
      const p = tz.page;
      await p.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
      await waitFor(async () => (await chartInfo(p))?.live, 30_000, 'the chart');
      const read = () =>
        p.evaluate(() => {
          const g = globalThis as any;
          const chart = g.__QUFLX__.charts.get('main').chart;
          const t = Date.UTC(2024, 10, 22, 12, 0, 0) / 1000;
          return {
            clock: g.document.querySelector('[data-clock-zone]').textContent as string,
            zone: g.document.querySelector('[data-clock-zone]').dataset.clockZone as string,
            axis: chart.options().timeScale.tickMarkFormatter(t, 3) as string,
            crosshair: chart.options().localization.timeFormatter(t) as string,
          };
        });
      expect(await read()).toMatchObject({ zone: 'utc', axis: '12:00', crosshair: '2024-11-22 12:00' });
      expect((await read()).clock).toMatch(/^\d\d:\d\d:\d\d UTC$/);
      await p.locator('[data-zone="local"]').click();
      await expect.poll(async () => (await read()).zone).toBe('local');
      expect(await read()).toMatchObject({ axis: '17:30', crosshair: '2024-11-22 17:30' });
      expect((await read()).clock).toMatch(/^\d\d:\d\d:\d\d UTC\+5:30$/);
      // The legend's bar time and the change column follow the zone too.
      await expect.poll(() => p.locator('.legend-time').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
      expect(await p.locator('.pair-row .pair-change').first().getAttribute('title')).toBe('Change since 00:00 UTC+5:30');
      await p.screenshot({ path: '/tmp/quflx-e2e-local-zone.png' });
      await p.reload();
      await waitFor(async () => (await chartInfo(p))?.live, 30_000, 'the chart after a reload');
      expect((await read()).zone).toBe('local');
      expect(await p.locator('[data-zone="local"]').getAttribute('aria-checked')).toBe('true');
      expect(tz.problems.filter((x) => !refused(x.text)).map((x) => x.text)).toEqual([]);
    } finally {
      await tz.close();
    }
  });

  test('a phone-sized screen shows the same views', async () => {
    const phone = await openBrowser({ width: 390, height: 844 });
    try {
      for (const view of ['?pair=EUR/USD_otc&tf=1M&layout=1', '?pair=USD/JPY_otc&tf=tick&layout=1']) {
        await phone.page.goto(`${app.url}/${view}`);
        await waitFor(async () => (await chartInfo(phone.page))?.live, 30_000, view);
        await phone.page.screenshot({ path: `/tmp/quflx-e2e-phone-${view.includes('tick') ? 'tick' : '1m'}.png` });
      }
      expect(phone.problems.filter((x) => !refused(x.text)).map((x) => x.text)).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  test('no console errors or warnings', () => {
    expect(browser.problems.filter((p) => !refused(p.text)).map((p) => p.text)).toEqual([]);
  });
});

describe('first starts on a fresh database', () => {
  test('reloads while the first bars come in (histories of 0 to 8 bars) always leave the loading state', async () => {
    await ensureWebBuilt();
    const app = await startTestApp({ FEED: 'simulated', ASSETS: 'EUR/USD_otc', TICKS_PER_MINUTE: '3000', SIMULATOR_HISTORY_HOURS: '0' });
    const browser = await openBrowser();
    try {
      const page = browser.page;
      const seen = new Set<number>();
      for (let round = 0; round < 6; round++) {
        if (round === 0) await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=5S&layout=1`);
        else await page.reload();
        await waitFor(async () => {
          const c = await chartInfo(page);
          return c && c.state !== 'loading' && c.live;
        }, 30_000, `round ${round}: out of the loading state`);
        const c = (await chartInfo(page))!;
        seen.add(c.bars);
        expect(strictlyIncreasing(c.times)).toBe(true);
        await page.waitForTimeout(4000);
      }
      console.log(`fresh database reloads saw charts of ${[...seen].sort((a, b) => a - b).join(', ')} bars`);
      expect([...seen].some((n) => n >= 2 && n <= 8)).toBe(true);
      expect(browser.problems.map((p) => p.text)).toEqual([]);
    } finally {
      await browser.close();
      await app.close();
    }
  }, 120_000);

  test('with simulator history: a reload a few seconds after the first start shows a full chart with indicators', async () => {
    const db = await createTestSchema();
    const app = await startTestApp({ FEED: 'simulated', ASSETS: 'EUR/USD_otc,USD/JPY_otc', TICKS_PER_MINUTE: '1000', SIMULATOR_HISTORY_HOURS: '240' }, { db });
    const browser = await openBrowser();
    try {
      const page = browser.page;
      await page.goto(`${app.url}/?pair=USD/JPY_otc&tf=1H&layout=1`);
      await waitFor(async () => (await chartInfo(page))?.state !== 'loading', 30_000, 'out of the loading state');
      await waitFor(async () => (await getJson(`${app.url}/api/candles?pair=USD/JPY_otc&timeframe=1H`)).candles.length === 200, 20_000, 'the history');
      await page.reload();
      await waitFor(async () => {
        const c = await chartInfo(page);
        return c && c.live && c.bars >= 200 && c.ema > 150;
      }, 30_000, 'a full 1H chart with EMA values');
      await page.screenshot({ path: '/tmp/quflx-e2e-first-start.png' });
      expect(browser.problems.map((p) => p.text)).toEqual([]);
    } finally {
      await browser.close();
      await app.close();
      await db.drop();
    }
  }, 120_000);
});
