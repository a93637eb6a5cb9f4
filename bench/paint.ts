/**
 * Tick-to-paint in a real browser: QuFLX with the simulator (5 pairs at 3,000 ticks a minute
 * each) serving the built page to Debian's Chromium, one 5S chart on screen. Two figures:
 * - the page's own (the status bar's `Latency p50`): every tick a chart drew, from its timestamp
 *   to the end of the frame that painted it (StreamClient's paint meter);
 * - a probe outside the app's code: each animation frame, if the chart's last bar changed, the
 *   newest tick's timestamp to the end of that frame;
 * - the part before the browser draws: tick timestamp to its arrival over the socket.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { QuflxApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { ensureWebBuilt, openBrowser } from '../test/helpers/browser.js';
import { benchLogger, deleteKeys } from './setup.js';
import { summarize, type Summary } from './stats.js';

export interface PaintOptions {
  redisUrl: string;
  /** The database as given; the run's tables live in a schema of their own, dropped at the end. */
  databaseUrl: string;
  ticksPerMinute: number;
  warmupMs: number;
  durationMs: number;
}

export interface PaintResult {
  /** Every painted tick, as the page measures it. */
  page: Summary;
  /** The probe: the newest tick of each frame that changed the chart. */
  probe: Summary;
  /** Tick timestamp to its arrival in the page (server and socket, before any drawing). */
  arrival: Summary;
  fps: number;
}

const PAIR = 'EUR/USD_otc';

/** Installed in the page: a frame loop that notes the newest tick's age once a frame that changed the chart is painted. */
const PROBE = `(() => {
  const pair = __PAIR__;
  const probe = (window.__probe__ = { samples: [], arrivals: [], frames: 0, started: Date.now() });
  // When each tick of the pair reaches the page: the part of the latency before the browser draws.
  window.__QUFLX__.client.link.socket.on('ticks', (ticks) => {
    const now = Date.now();
    for (const t of ticks) if (t.pair === pair) probe.arrivals.push(now - t.timestamp);
  });
  const channel = new MessageChannel();
  let pending = null;
  channel.port1.onmessage = () => pending && pending();
  let last = '';
  function frame() {
    probe.frames++;
    const data = window.__QUFLX__.charts.get('main').seriesData();
    const bar = data[data.length - 1];
    const key = bar ? bar.time + ':' + bar.close + ':' + data.length : '';
    const ts = window.__QUFLX__.client.stats(pair).timestamp;
    if (key !== last && ts !== null) {
      pending = () => probe.samples.push(Date.now() - ts);
      channel.port2.postMessage(null);
    }
    last = key;
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  return probe.started;
})()`;

export async function measurePaint(options: PaintOptions): Promise<PaintResult> {
  await ensureWebBuilt();
  const id = randomBytes(4).toString('hex');
  const schema = `bench_paint_${id}`;
  const prefix = `bench:paint:${id}:`;
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(options.databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  let app: QuflxApp | null = null;
  let browser: Awaited<ReturnType<typeof openBrowser>> | null = null;
  try {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: options.redisUrl,
      DATABASE_URL: url.toString(),
      FEED: 'simulated',
      TICKS_PER_MINUTE: String(options.ticksPerMinute),
      SIMULATOR_HISTORY_HOURS: '1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    });
    app = await QuflxApp.start(config, benchLogger(config.logLevel), { keyPrefix: prefix, persistConsumer: `bench-paint-${id}` });
    browser = await openBrowser({ width: 1440, height: 900 });
    const page = browser.page;
    await page.goto(`${app.url}/?pair=${PAIR}&tf=5S&layout=1`);
    // Polled with evaluate: waitForFunction with a string would run eval in the page, which its CSP forbids.
    const liveBy = Date.now() + 30_000;
    while (!(await page.evaluate("!!(window.__QUFLX__ && window.__QUFLX__.charts.get('main') && window.__QUFLX__.charts.get('main').live === true)"))) {
      if (Date.now() > liveBy) throw new Error('the page did not show a live chart within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, options.warmupMs));
    // Handed over as text: the benchmark runs under tsx, whose helpers do not exist in the page.
    const started = (await page.evaluate(PROBE.replace('__PAIR__', JSON.stringify(PAIR)))) as number;
    await new Promise((r) => setTimeout(r, options.durationMs));
    const figures = (await page.evaluate(`({
      page: window.__QUFLX__.client.latency.samplesSince(${started}).map((s) => s[1]),
      probe: window.__probe__.samples,
      arrival: window.__probe__.arrivals,
      fps: window.__probe__.frames / ((Date.now() - window.__probe__.started) / 1000),
    })`)) as { page: number[]; probe: number[]; arrival: number[]; fps: number };
    return { page: summarize(figures.page), probe: summarize(figures.probe), arrival: summarize(figures.arrival), fps: figures.fps };
  } finally {
    await browser?.close();
    await app?.close();
    await deleteKeys(options.redisUrl, prefix).catch(() => 0);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}
