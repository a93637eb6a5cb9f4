import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { heikinAshi } from '../../web/src/lib/heikin-ashi.js';
import { barCloseIn } from '../../web/src/lib/countdown.js';
import type { Alert } from '../../src/shared/http.js';
import type { Candle } from '../../src/shared/events.js';
import { ensureWebBuilt, openBrowser, type Browser } from '../helpers/browser.js';
import { getJson, postTicks, startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';

/**
 * The tools a trader reaches for, in Debian's Chromium against a running QuFLX: alerts made on the
 * chart that fire, drawings kept across a reload, chart types, the bar countdown, indicator
 * settings, CSV import and export from the page, shortcuts, screenshot and fullscreen.
 */

const PAIRS = ['EUR/USD_otc', 'GBP/USD_otc'];
/** A pair of this test's own, filled by a CSV import from the page. */
const CSV_PAIR = 'CSV/TEST_otc';

const refused = (text: string) => /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(text);

/**
 * Runs `body` in the page with `c` the main chart (window.__QUFLX__), `g` the page's globals and
 * `arg` the argument; null without a chart. An expression string: the DevTools protocol evaluates
 * it (the page's CSP allows no eval of its own).
 */
function chart<T>(page: Page, body: string, arg?: unknown): Promise<T | null> {
  return page.evaluate(
    `(() => { const g = globalThis; const c = g.__QUFLX__ && g.__QUFLX__.charts.get('main'); const arg = ${JSON.stringify(arg ?? null)}; if (!c) return null; ${body} })()`,
  ) as Promise<T | null>;
}

const live = (page: Page) => chart<boolean>(page, 'return c.live && c.bars().length > 0');

/** A point on the price pane at `price` (and `xFraction` of its width), in page pixels. */
async function pointAt(page: Page, price: number, xFraction = 0.5): Promise<{ x: number; y: number }> {
  return (await chart(
    page,
    `const pane = c.chart.panes()[0].getHTMLElement().getBoundingClientRect();
     const y = c.priceSeriesApi().priceToCoordinate(arg.price);
     return { x: pane.left + c.chart.timeScale().width() * arg.xFraction, y: pane.top + y };`,
    { price, xFraction },
  ))!;
}

function parseCountdown(text: string): number {
  const parts = text.split(':').map(Number);
  return parts.reduce((s, v) => s * 60 + v, 0);
}

describe('trader tools in the page', { timeout: 180_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  /** When the refused import was sent: its 400 is the one console error the browser shows on purpose. */
  const refusedImport = { from: 0, to: 0 };
  /** What the CSV pair holds: the imported ticks and one live one. */
  const csvTicks: { timestamp: number; price: number }[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    app = await startTestApp({ FEED: 'simulated', ASSETS: PAIRS.join(','), TICKS_PER_MINUTE: '600', SIMULATOR_HISTORY_HOURS: '3', BATCH_INTERVAL_MS: '500' });
    await waitFor(async () => (await getJson(`${app.url}/api/candles?pair=EUR/USD_otc&timeframe=1M`)).candles.length >= 150, 30_000, 'the simulator history');
    browser = await openBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  test('an alert made on the chart with the alert tool: a line at its level, then it fires: banner, marker, fired in the list', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    const last = (await page.evaluate(() => (globalThis as any).__QUFLX__.client.stats('EUR/USD_otc').price as number))!;
    // Near the top of the price pane, above the price: the simulator does not get there in a few seconds.
    const top = (await chart<{ x: number; y: number; price: number }>(
      page,
      `const pane = c.chart.panes()[0].getHTMLElement().getBoundingClientRect();
       const y = pane.height * 0.06;
       return { x: pane.left + c.chart.timeScale().width() * 0.5, y: pane.top + y, price: c.priceSeriesApi().coordinateToPrice(y) };`,
    ))!;
    expect(top.price).toBeGreaterThan(last);
    await page.locator('button[data-tool="alert"]').click();
    await page.mouse.click(top.x, top.y);
    const level = top.price;
    const made = (await waitFor(async () => ((await getJson(`${app.url}/api/alerts`)) as Alert[]).find((a) => a.pair === 'EUR/USD_otc'), 10_000, 'the alert'))!;
    expect(made.condition).toBe('above');
    expect(Math.abs(made.price - level)).toBeLessThan(last * 0.0005); // where it was clicked, to the pixel
    expect(made.triggeredAt).toBeNull();
    await waitFor(() => chart<boolean>(page, 'return c.alertsShown().lines.length === 1'), 10_000, 'the alert line');
    expect(await page.locator('button[data-tool="cursor"]').getAttribute('aria-pressed')).toBe('true');

    // A tick at its level fires it.
    const tick = { pair: 'EUR/USD_otc', price: Number((made.price + 0.0001).toFixed(5)), timestamp: Date.now() };
    expect((await postTicks(app.url, tick)).status).toBe(202);
    await page.locator(`.alert-banner[data-alert-id="${made.id}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('.alert-banner').first().textContent()).toContain(`EUR/USD_otc rose to ${made.price.toFixed(5)}`);
    await waitFor(() => chart<boolean>(page, 'return c.alertsShown().lines.length === 0 && c.alertsShown().markers.length === 1'), 10_000, 'the marker');
    const marker = (await chart<{ time: number; price: number }>(page, 'return c.alertsShown().markers[0]'))!;
    expect(marker).toMatchObject({ time: Math.floor(tick.timestamp / 60_000) * 60, price: tick.price });
    await page.locator('[data-menu="alerts"]').click();
    await page.locator(`.alert-row[data-alert-id="${made.id}"][data-alert-state="fired"]`).waitFor({ timeout: 5000 });
    await page.screenshot({ path: '/tmp/quflx-e2e-alert-fired.png' });
    await page.keyboard.press('Escape');
    const stored = ((await getJson(`${app.url}/api/alerts`)) as Alert[]).find((a) => a.id === made.id)!;
    expect(stored.trigger).toEqual({ price: tick.price, timestamp: tick.timestamp });
  });

  test('an alert that fires while the page is closed shows as fired, with a banner, when it opens again', async () => {
    const last = (await getJson(`${app.url}/api/assets`)).find((a: { pair: string }) => a.pair === 'GBP/USD_otc').price as number;
    const res = await fetch(`${app.url}/api/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pair: 'GBP/USD_otc', condition: 'below', price: Number((last * 0.99).toFixed(5)), note: 'closed tab' }),
    });
    const alert = (await res.json()) as Alert;
    expect(res.status).toBe(201);
    await page.goto('about:blank');
    expect((await postTicks(app.url, { pair: 'GBP/USD_otc', price: Number((alert.price - 0.001).toFixed(5)), timestamp: Date.now() })).status).toBe(202);
    await waitFor(async () => ((await getJson(`${app.url}/api/alerts`)) as Alert[]).find((a) => a.id === alert.id)?.triggeredAt, 15_000, 'the alert to fire');
    await page.goto(`${app.url}/?pair=GBP/USD_otc&tf=5M&layout=1`);
    const banner = page.locator(`.alert-banner[data-alert-id="${alert.id}"]`);
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.textContent()).toContain('while you were away');
    expect(await banner.textContent()).toContain('closed tab');
    await page.locator('[data-menu="alerts"]').click();
    expect(await page.locator(`.alert-row[data-alert-id="${alert.id}"]`).getAttribute('data-alert-state')).toBe('fired');
    await page.keyboard.press('Escape');
    // Deleted from the list.
    await page.locator('[data-menu="alerts"]').click();
    await page.locator(`.alert-row[data-alert-id="${alert.id}"] button`).click();
    await waitFor(async () => !((await getJson(`${app.url}/api/alerts`)) as Alert[]).some((a) => a.id === alert.id), 10_000, 'the alert deleted');
    await page.keyboard.press('Escape');
  });

  test('a level and a trend line drawn with the mouse are there after a reload, and on another timeframe', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    const last = (await chart<number>(page, 'return c.bars().at(-1).close'))!;
    const box = (await page.locator('[data-chart="main"] .chart-host').boundingBox())!;
    // A level with the H key, a trend line dragged with the trend tool.
    await page.keyboard.press('h');
    const lv = await pointAt(page, last, 0.3);
    await page.mouse.click(lv.x, lv.y);
    await page.locator('button[data-tool="trend"]').click();
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.55);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45, { steps: 6 });
    await page.mouse.move(box.x + box.width * 0.65, box.y + box.height * 0.4, { steps: 6 });
    await page.mouse.up();
    const drawn = (await chart<{ kind: string; price?: number; a?: { time: number }; b?: { time: number } }[]>(page, 'return c.drawings.drawings()'))!;
    expect(drawn.map((d) => d.kind)).toEqual(['hline', 'trend']);
    expect(Math.abs(drawn[0]!.price! - last)).toBeLessThan(last * 0.0002);
    expect(drawn[1]!.b!.time).toBeGreaterThan(drawn[1]!.a!.time);

    // Moved by a drag in the cursor mode.
    await page.mouse.move(lv.x + 200, lv.y);
    await page.mouse.down();
    await page.mouse.move(lv.x + 200, lv.y - 40, { steps: 5 });
    await page.mouse.up();
    const moved = (await chart<{ price: number }[]>(page, 'return c.drawings.drawings()'))![0]!;
    expect(moved.price).toBeGreaterThan(drawn[0]!.price!);

    await page.reload();
    await waitFor(() => live(page), 30_000, 'the chart after the reload');
    const after = (await chart<unknown[]>(page, 'return c.drawings.drawings()'))!;
    expect(after).toEqual([{ ...drawn[0], price: moved.price }, drawn[1]]);
    // And drawn: both on the pane, the level's price on the scale.
    await waitFor(() => chart<boolean>(page, 'c.drawings.primitive.updateAllViews(); return c.drawings.primitive.current().drawings.length === 2'), 10_000, 'both drawn');
    await page.screenshot({ path: '/tmp/quflx-e2e-drawings.png' });
    await page.locator('button[data-timeframe="5M"]').click();
    await waitFor(() => chart<boolean>(page, "return c.live && c.bars().length > 0 && c.chartType !== undefined && g.document.querySelector('[data-chart=main]').dataset.timeframe === '5M'"), 30_000, 'the 5M chart');
    await waitFor(() => chart<boolean>(page, 'c.drawings.primitive.updateAllViews(); return c.drawings.primitive.current().drawings.length === 2'), 10_000, 'both drawn on 5M');

    // Selected and deleted with the Delete key.
    const y = (await chart<number>(page, `return c.drawings.primitive.current().drawings.find((d) => d.kind === 'hline').y`))!;
    const pane = (await chart<{ left: number; top: number }>(page, 'const r = c.chart.panes()[0].getHTMLElement().getBoundingClientRect(); return { left: r.left, top: r.top }'))!;
    await page.mouse.click(pane.left + 150, pane.top + y);
    await page.keyboard.press('Delete');
    expect((await chart<{ kind: string }[]>(page, 'return c.drawings.drawings()'))!.map((d) => d.kind)).toEqual(['trend']);
  });

  test('chart types: candles, Heikin-Ashi (from the same candles, the forming bar live), bars, line, area', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=5S&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    const expectType = async (menu: string, seriesType: string) => {
      await page.locator('[data-menu="chart-type"]').click();
      await page.locator(`button[data-chart-type="${menu}"]`).click();
      await waitFor(() => chart<boolean>(page, `return c.priceSeriesApi().seriesType() === '${seriesType}' && c.seriesData().length === c.bars().length`), 10_000, menu);
      expect(await page.locator('[data-chart="main"]').getAttribute('data-chart-type')).toBe(menu);
    };
    await expectType('bars', 'Bar');
    await expectType('line', 'Line');
    // The series is the model's closes (read between two frames, when nothing waits to be drawn).
    await waitFor(async () => {
      const line = (await chart<{ shown: number[]; closes: number[] }>(page, 'return { shown: c.seriesData().map((d) => d.value), closes: c.bars().map((b) => b.close) }'))!;
      return line.shown.length > 100 && JSON.stringify(line.shown) === JSON.stringify(line.closes);
    }, 10_000, 'the line through the closes');
    await expectType('area', 'Area');
    await expectType('heikin-ashi', 'Candlestick');
    // Live 5S bars come and go: the Heikin-Ashi series stays what a recomputation over the candles gives.
    const same = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.abs(b);
    let previous = '';
    for (let round = 0; round < 3; round++) {
      await page.waitForTimeout(2500);
      // Read between two frames (nothing waiting to be drawn): every bar as a recomputation gives it.
      const agreed = await waitFor(async () => {
        const { shown, bars } = (await chart<{ shown: Candle[]; bars: Candle[] }>(page, 'return { shown: c.seriesData(), bars: c.bars() }'))!;
        const expected = heikinAshi(bars);
        const ok = shown.length === expected.length && expected.every((e, i) => (['open', 'high', 'low', 'close'] as const).every((k) => same(shown[i]![k], e[k])));
        return ok ? expected : null;
      }, 10_000, `Heikin-Ashi round ${round}`);
      // Live: ticks moved the forming bar (or opened a new one) meanwhile.
      const newest = JSON.stringify(agreed!.at(-1));
      expect(newest).not.toBe(previous);
      previous = newest;
    }
    await page.screenshot({ path: '/tmp/quflx-e2e-heikin-ashi.png' });
    // Remembered across a reload; C cycles on.
    await page.reload();
    await waitFor(() => chart<boolean>(page, "return c.live && c.priceSeriesApi().seriesType() === 'Candlestick' && c.chartType === 'heikin-ashi'"), 30_000, 'Heikin-Ashi after the reload');
    await page.keyboard.press('c');
    await waitFor(() => chart<boolean>(page, "return c.chartType === 'bars'"), 10_000, 'the next type');
    await page.locator('[data-menu="chart-type"]').click();
    await page.locator('button[data-chart-type="candles"]').click();
  });

  test('the countdown to the bar\'s close counts down in the legend and on the price scale, for every timeframe', async () => {
    for (const tf of ['5S', '1M', '1H', '1D']) {
      await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=${tf}&layout=1`);
      await waitFor(() => live(page), 30_000, `the ${tf} chart`);
      const span = { '5S': 5, '1M': 60, '1H': 3600, '1D': 86_400 }[tf]!;
      const read = async () => {
        const text = (await page.locator('.legend-countdown').textContent({ timeout: 10_000 }))!;
        return { left: parseCountdown(text), expected: barCloseIn(Date.now(), span) / 1000, text };
      };
      const first = await read();
      expect(first.text).toMatch(span >= 3600 ? /^\d+:\d\d:\d\d$/ : /^\d+:\d\d$/);
      // The bar's close in UTC buckets, as the server's (a second or two of page and test time apart).
      const diff = Math.abs(first.left - first.expected);
      expect(Math.min(diff, span - diff)).toBeLessThanOrEqual(3);
      if (tf === '1M' || tf === '1H') {
        await page.waitForTimeout(2200);
        const second = await read();
        const step = first.left - second.left;
        // It went down (or a new bar began, and it starts over).
        expect(step > 0 || second.left > first.left).toBe(true);
      }
      const axis = (await chart<string>(page, "return c.priceSeriesApi() && c.countdownText()"))!;
      expect(axis).toMatch(/^\d+:\d\d(:\d\d)?$/);
    }
    await page.screenshot({ path: '/tmp/quflx-e2e-countdown.png' });
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=tick&layout=1`);
    await waitFor(() => chart<boolean>(page, 'return c.live'), 30_000, 'the tick chart');
    expect(await page.locator('.legend-countdown').count()).toBe(0);
  });

  test('indicator settings: RSI 21 with levels 25/75, computed by the server, levels in view, remembered', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    await page.locator('[data-menu="indicators"]').click();
    await page.locator('[data-settings="rsi14"]').click();
    await page.locator('input[name="period"]').fill('500');
    expect(await page.locator('.field-hint').first().textContent()).toBe('must be a whole number from 2 to 200 (default 14)');
    await page.locator('input[name="period"]').fill('21');
    await page.locator('input[name="level0"]').fill('25');
    await page.locator('input[name="level1"]').fill('75');
    await page.locator('button[type="submit"]').click();
    await waitFor(() => chart<boolean>(page, "return c.indicatorValues('rsi14').filter((v) => v.value !== null).length > 100"), 30_000, 'RSI 21 values');
    expect(await page.locator('.legend-row[data-indicator="rsi14"]').textContent()).toContain('RSI 21');
    const rsi = (await getJson(`${app.url}/api/indicators?pair=EUR/USD_otc&timeframe=1M&name=rsi&period=21&limit=50`)).values as { time: number; value: number }[];
    const shown = (await chart<{ time: number; value: number }[]>(page, "return c.indicatorValues('rsi14')"))!;
    const byTime = new Map(shown.map((v) => [v.time, v.value]));
    const common = rsi.slice(0, -2).filter((v) => byTime.has(v.time));
    expect(common.length).toBeGreaterThan(20);
    for (const v of common) expect(byTime.get(v.time)).toBeCloseTo(v.value, 8);
    // The pane's scale shows both levels whatever the values do.
    const range = (await chart<{ from: number; to: number }>(page, "return c.chart.priceScale('right', 1).getVisibleRange()"))!;
    expect(range.from).toBeLessThanOrEqual(25);
    expect(range.to).toBeGreaterThanOrEqual(75);
    await page.reload();
    await waitFor(() => live(page), 30_000, 'after the reload');
    await waitFor(async () => (await page.locator('.legend-row[data-indicator="rsi14"]').textContent())?.includes('RSI 21'), 10_000, 'RSI 21 remembered');
  });

  test('keyboard shortcuts for timeframe and pair, never while typing; the help lists them', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    const search = () => page.evaluate(() => (globalThis as any).location.search as string);
    await page.keyboard.press('5');
    await expect.poll(search).toBe('?pair=EUR/USD_otc&tf=5M&layout=1');
    await page.keyboard.press('ArrowDown');
    await expect.poll(search).toBe('?pair=GBP/USD_otc&tf=5M&layout=1');
    await page.keyboard.press('ArrowUp');
    await expect.poll(search).toBe('?pair=EUR/USD_otc&tf=5M&layout=1');
    await page.keyboard.press('t');
    await expect.poll(search).toBe('?pair=EUR/USD_otc&tf=tick&layout=1');
    await page.keyboard.press('4');
    await expect.poll(search).toBe('?pair=EUR/USD_otc&tf=1M&layout=1');
    // Typing a price in the alert form is typing.
    await page.locator('[data-menu="alerts"]').click();
    await page.locator('input[name="price"]').fill('');
    await page.locator('input[name="price"]').type('1.2');
    await page.locator('input[name="note"]').type('hold 1 and 5');
    await page.waitForTimeout(300);
    expect(await search()).toBe('?pair=EUR/USD_otc&tf=1M&layout=1');
    await page.keyboard.press('Escape');
    await page.locator('body').click({ position: { x: 5, y: 880 } });
    await page.keyboard.press('?');
    await page.locator('.help-popover').waitFor({ timeout: 5000 });
    expect(await page.locator('.help-popover').textContent()).toContain('Previous / next pair');
    await page.keyboard.press('Escape');
  });

  test('screenshot (S) downloads a PNG of the chart; fullscreen (F) fills the screen with the chart area', async () => {
    await page.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.keyboard.press('s')]);
    expect(download.suggestedFilename()).toMatch(/^quflx_EURUSD_otc_1M_\d{8}-\d{4}\.png$/);
    const png = readFileSync((await download.path())!);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.length).toBeGreaterThan(10_000);
    await page.locator('button[data-tool="fullscreen"]').click();
    await waitFor(() => page.evaluate(() => (globalThis as any).document.fullscreenElement?.classList.contains('workspace') === true), 10_000, 'fullscreen');
    await page.waitForTimeout(300);
    await page.screenshot({ path: '/tmp/quflx-e2e-fullscreen.png' });
    const size = await page.locator('main.workspace').boundingBox();
    expect(size!.width).toBeGreaterThanOrEqual(1400);
    await page.keyboard.press('f');
    await waitFor(() => page.evaluate(() => (globalThis as any).document.fullscreenElement === null), 10_000, 'out of fullscreen');
  });

  test('CSV import from the page: upload progress, the result, the chart fills; the same file again is all duplicates; a bad file names its lines', async () => {
    const now = Date.now();
    // The pair is listed (one live tick now); its history comes from the file: 10 hours, 2 ticks a minute.
    expect((await postTicks(app.url, { pair: CSV_PAIR, price: 1.5, timestamp: now })).status).toBe(202);
    csvTicks.push({ timestamp: now, price: 1.5 });
    const start = Math.floor((now - 10 * 3600_000) / 60_000) * 60_000;
    const ticks = Array.from({ length: 1200 }, (_, i) => ({ timestamp: start + i * 30_000 + 1000, price: Number((1.5 + Math.sin(i / 30) / 100 + (i % 7) / 10_000).toFixed(5)) }));
    csvTicks.push(...ticks);
    const csv = `pair,price,timestamp,id\n${ticks.map((t) => `${CSV_PAIR},${t.price},${t.timestamp},`).join('\n')}\n`;
    await page.goto(`${app.url}/?pair=${CSV_PAIR}&tf=1M&layout=1`);
    await waitFor(() => chart<boolean>(page, 'return c.live'), 30_000, 'the pair with one tick');
    expect((await chart<number>(page, 'return c.bars().length'))!).toBeLessThanOrEqual(2);
    // What the progress bar shows while the file goes up.
    await page.evaluate(`(() => {
      const g = globalThis; g.__progress = [];
      new MutationObserver(() => { const p = g.document.querySelector('.csv-dialog progress'); if (p) g.__progress.push([p.value, p.max]); })
        .observe(g.document.body, { subtree: true, childList: true, attributes: true });
    })()`);
    await page.setInputFiles('input[data-csv-input]', { name: 'history.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const result = page.locator('.csv-result');
    await result.waitFor({ timeout: 30_000 });
    expect([await result.getAttribute('data-imported'), await result.getAttribute('data-duplicates'), await result.getAttribute('data-invalid')]).toEqual(['1200', '0', '0']);
    const progress = (await page.evaluate('globalThis.__progress')) as [number, number][];
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every(([, max]) => max === Buffer.byteLength(csv))).toBe(true);
    console.log(`import progress seen: ${progress.map(([v]) => v).join(', ')}`);
    await page.screenshot({ path: '/tmp/quflx-e2e-csv-imported.png' });
    // The chart loads again and fills with the imported history, as the server has it.
    await waitFor(() => chart<boolean>(page, 'return c.live && c.bars().length >= 150'), 30_000, 'the chart filled');
    const server = (await getJson(`${app.url}/api/candles?pair=${encodeURIComponent(CSV_PAIR)}&timeframe=1M`)).candles as Candle[];
    const shown = (await chart<Candle[]>(page, 'return c.bars()'))!;
    const byTime = new Map(shown.map((b) => [b.time, b]));
    for (const b of server.slice(0, -1)) expect(byTime.get(b.time), String(b.time)).toMatchObject({ open: b.open, close: b.close, volume: b.volume });
    await page.locator('.csv-dialog button', { hasText: 'Close' }).click();

    // The same file again: nothing new.
    await page.setInputFiles('input[data-csv-input]', { name: 'history.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.locator('.csv-result[data-duplicates="1200"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('.csv-result').getAttribute('data-imported')).toBe('0');
    await page.locator('.csv-dialog button', { hasText: 'Close' }).click();

    // A file with bad lines: refused whole, the lines named.
    const bad = `pair,price,timestamp\n${CSV_PAIR},1.5,${now - 5000}\n${CSV_PAIR},abc,${now - 4000}\n${CSV_PAIR},1.6,\n`;
    refusedImport.from = Date.now();
    await page.setInputFiles('input[data-csv-input]', { name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.locator('.csv-dialog[data-import-phase="failed"]').waitFor({ timeout: 30_000 });
    refusedImport.to = Date.now() + 1000;
    const text = (await page.locator('.csv-dialog').textContent())!;
    expect(text).toContain('Nothing imported from bad.csv');
    expect(text).toMatch(/line 3: price/);
    expect(text).toMatch(/line 4: timestamp/);
    await page.screenshot({ path: '/tmp/quflx-e2e-csv-refused.png' });
    await page.locator('.csv-dialog button', { hasText: 'Close' }).click();
  });

  test('CSV export downloads the pair\'s ticks of the visible range', async () => {
    await page.goto(`${app.url}/?pair=${CSV_PAIR}&tf=1M&layout=1`);
    await waitFor(() => chart<boolean>(page, 'return c.live && c.bars().length >= 150'), 30_000, 'the filled chart');
    await page.waitForTimeout(500);
    const range = (await chart<{ fromMs: number; toMs: number }>(page, 'return c.visibleRange()'))!;
    const bars = (await chart<Candle[]>(page, 'return c.bars()'))!;
    // Less than the whole history is in view: the export is the view's span, not everything.
    expect(range.fromMs).toBeGreaterThan(bars[0]!.time * 1000);
    await page.locator('[data-menu="csv"]').click();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.locator('button[data-action="export"]').click()]);
    const file = readFileSync((await download.path())!, 'utf8');
    const lines = file.trim().split('\n');
    expect(lines[0]).toBe('pair,price,timestamp,id');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.length).toBeGreaterThan(50);
    for (const [pair, price, ts] of rows) {
      expect(pair).toBe(CSV_PAIR);
      expect(Number(price)).toBeGreaterThan(0);
      expect(Number(ts)).toBeGreaterThanOrEqual(range.fromMs);
      expect(Number(ts)).toBeLessThanOrEqual(range.toMs);
    }
    // Exactly the stored ticks of that span: the server's own answer for it.
    const direct = await (await fetch(`${app.url}/api/export?pair=${encodeURIComponent(CSV_PAIR)}&from=${Math.floor(range.fromMs)}&to=${Math.floor(range.toMs)}`)).text();
    expect(file).toBe(direct);
    // And those are the ticks the pair was given in that span, oldest first.
    const expected = csvTicks.filter((t) => t.timestamp >= range.fromMs && t.timestamp <= range.toMs).sort((a, b) => a.timestamp - b.timestamp);
    expect(rows.map((r) => [Number(r[2]), Number(r[1])])).toEqual(expected.map((t) => [t.timestamp, t.price]));
  });

  test('a deep link under another spelling opens the instrument and the URL takes its canonical name', async () => {
    await page.goto(`${app.url}/?pair=EURUSD_otc&tf=1M&layout=1`);
    await waitFor(() => live(page), 30_000, 'the live chart');
    await expect.poll(() => page.evaluate(() => (globalThis as any).location.search as string)).toBe('?pair=EUR/USD_otc&tf=1M&layout=1');
    expect(await page.locator('[data-chart="main"]').getAttribute('data-pair')).toBe('EUR/USD_otc');
  });

  test('a phone-sized screen: the toolbar fits, its menus open on screen, the tools work', async () => {
    const phone = await openBrowser({ width: 390, height: 844 });
    try {
      const p = phone.page;
      await p.goto(`${app.url}/?pair=EUR/USD_otc&tf=1M&layout=1`);
      await waitFor(() => live(p), 30_000, 'the chart');
      for (const sel of ['[data-menu="chart-type"]', '[data-menu="indicators"]', '[data-menu="alerts"]', '[data-menu="csv"]', '[data-menu="help"]', 'button[data-layout="4"]', 'button[data-tool="trend"]']) {
        const b = (await p.locator(sel).boundingBox())!;
        expect(b.x, sel).toBeGreaterThanOrEqual(0);
        expect(b.x + b.width, sel).toBeLessThanOrEqual(390);
      }
      await p.locator('[data-menu="alerts"]').click();
      const pop = (await p.locator('.alerts-popover').boundingBox())!;
      expect(pop.x).toBeGreaterThanOrEqual(0);
      expect(pop.x + pop.width).toBeLessThanOrEqual(390);
      await p.screenshot({ path: '/tmp/quflx-e2e-phone-alerts.png' });
      await p.keyboard.press('Escape');
      // Drawn with a finger: a trend line by a drag, a level by a tap.
      await p.evaluate(() => (globalThis as any).localStorage.removeItem('quflx.drawings.EUR/USD_otc'));
      const cdp = await p.context().newCDPSession(p);
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
      const box = (await p.locator('[data-chart="main"] .chart-host').boundingBox())!;
      const at = (x: number, y: number) => [{ x: box.x + x, y: box.y + y }];
      await p.locator('button[data-tool="trend"]').click();
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(60, 300) });
      for (let i = 1; i <= 8; i++) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(60 + i * 20, 300 - i * 15) });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await p.locator('button[data-tool="hline"]').click();
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(150, 200) });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      const drawn = await waitFor(() => chart<{ kind: string }[]>(p, 'const d = c.drawings.drawings(); return d.length === 2 ? d : null'), 10_000, 'two drawings by touch');
      expect(drawn!.map((d) => d.kind)).toEqual(['trend', 'hline']);
      await p.screenshot({ path: '/tmp/quflx-e2e-phone-tools.png' });
      expect(phone.problems.filter((x) => !refused(x.text)).map((x) => x.text)).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  test('no console errors or warnings (but the refused import\'s 400, which Chromium logs for any failed request)', () => {
    const expected = (p: { at: number; text: string }) => p.at >= refusedImport.from && p.at <= refusedImport.to && p.text.includes('status of 400 (Bad Request)');
    expect(browser.problems.filter(expected)).toHaveLength(1);
    expect(browser.problems.filter((p) => !refused(p.text) && !expected(p)).map((p) => p.text)).toEqual([]);
  });
});
