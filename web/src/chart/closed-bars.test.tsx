import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { aggregateStates, toCandle } from '../../../src/core/candle.js';
import type { StreamItem } from '../lib/stream-client.js';
import type { Candle, SeqTick } from '../lib/types.js';
import * as lwc from '../test/fake-lightweight-charts.js';
import { ChartController } from './chart-controller.js';
import { DrawScheduler } from './draw-scheduler.js';

vi.mock('lightweight-charts', () => import('../test/fake-lightweight-charts.js'));

/**
 * A chart's closed bars end up equal to the server's, whatever the live path lost: the sequence
 * the gateway really produces around a subscribe (its candles read before it joins the live
 * candles, so a bar that closes meanwhile gets no event), a hole in seq stepped over (its ticks
 * and their events never sent), and a reconnect with a snapshot of the same kind. The "server"
 * is a tick list and the server's own candle rule (src/core/candle.ts).
 */

const PAIR = 'EUR/USD_otc';
const T0 = 1_700_000_000; // a 5 s boundary, epoch seconds
const GRACE_MS = 1000;
/** Tick n is at T0 + n * 200 ms: 25 ticks a 5 s bucket (n 0-24 in the first, 25-49 in the next, ...). */
const at = (n: number) => T0 * 1000 + n * 200;
const price = (n: number) => Number((1.1 + ((n * 37) % 23) / 10_000 - ((n * 11) % 7) / 20_000).toFixed(5));
const tick = (n: number): SeqTick => ({ pair: PAIR, price: price(n), timestamp: at(n) as SeqTick['timestamp'], seq: n + 1 });
const bucket = (n: number) => Math.floor(at(n) / 5000) * 5;

/** The server's candles from ticks 0..n (its cache, GET /api/candles). */
function serverCandles(n: number): Candle[] {
  const ticks = Array.from({ length: n + 1 }, (_, i) => ({ price: price(i), timestamp: at(i), key: String(i).padStart(6, '0') }));
  return aggregateStates(ticks, '5S').map(toCandle);
}
const serverBar = (time: number, n: number) => serverCandles(n).find((c) => c.time === time)!;

let latest = 0; // the newest tick the server has
const reads: number[] = []; // GET /api/candles limits asked for

function fakeFetch(input: RequestInfo | URL): Promise<Response> {
  const url = new URL(String(input), 'http://quflx');
  expect(url.pathname).toBe('/api/candles');
  const limit = Number(url.searchParams.get('limit'));
  reads.push(limit);
  const body = { pair: PAIR, timeframe: '5S', source: 'cache', candles: serverCandles(latest).slice(-limit) };
  return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }));
}

function setup() {
  const host = document.createElement('div');
  document.body.append(host);
  const c = new ChartController(host, null, { notePainted: () => undefined } as never, { fetch: fakeFetch as typeof fetch, repairGraceMs: GRACE_MS });
  c.setContext(PAIR, '5S', []);
  return c;
}

/** What the gateway sends for ticks a..b (one fan-out batch): the ticks, then the candles of the buckets they touched. */
function live(a: number, b: number, withEvents = true): StreamItem[] {
  latest = Math.max(latest, b);
  const ticks = Array.from({ length: b - a + 1 }, (_, i) => tick(a + i));
  const items: StreamItem[] = [{ kind: 'ticks', ticks }];
  if (withEvents) for (const time of new Set(ticks.map((t) => bucket(t.seq - 1)))) items.push({ kind: 'candle', event: { pair: PAIR, timeframe: '5S', candle: serverBar(time, b) } });
  return items;
}

/** A subscribe answered with candles read at tick `read` and the tick snapshot at `seq`: as the gateway does. */
function snapshot(read: number, seq: number, resync: boolean): StreamItem {
  latest = Math.max(latest, seq);
  return { kind: 'snapshot', resync, ack: { ok: true, pair: PAIR, ticks: Array.from({ length: 20 }, (_, i) => tick(seq - 19 + i)), candles: serverCandles(read), seq: seq + 1, timeframe: '5S' } };
}

/** Bars older than the newest, as the chart shows them and as the server has them. */
function closed(c: ChartController): { chart: Candle[]; server: Candle[] } {
  const bars = c.bars() as Candle[];
  const newest = bars[bars.length - 1]!.time;
  const chart = bars.filter((b) => b.time < newest).map((b) => ({ ...b }));
  const first = chart[0]?.time ?? newest;
  return { chart, server: serverCandles(latest).filter((b) => b.time >= first && b.time < newest) };
}

beforeEach(() => {
  lwc.charts.length = 0;
  DrawScheduler.requestFrame = (cb) => cb();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(at(0));
  latest = 0;
  reads.length = 0;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('closed bars end up as the server has them', () => {
  test('steady state: every bar confirmed by its event, nothing read over HTTP', async () => {
    const c = setup();
    c.onItems([snapshot(0, 0, false)]);
    for (let n = 1; n < 100; n += 3) c.onItems(live(n, Math.min(n + 2, 99)));
    await vi.advanceTimersByTimeAsync(GRACE_MS * 5);
    expect(reads).toEqual([]);
    const { chart, server } = closed(c);
    expect(chart).toHaveLength(3);
    expect(chart).toEqual(server);
  });

  test('a bar that closed while the subscribe was answered, a stepped-over hole, a reconnect: each read once and set to the server\'s', async () => {
    const c = setup();
    // 1. Subscribe: candles read at tick 10 (first bucket forming), tick snapshot at 30, joined at
    // 35: ticks 31-35 come after the ack without their events, and the first bucket (ticks 11-24)
    // closed in between, so no event of it follows.
    c.onItems([snapshot(10, 30, false)]);
    c.onItems(live(31, 35, false));
    for (let n = 36; n <= 49; n += 2) c.onItems(live(n, Math.min(n + 1, 49)));
    expect(c.bars()[0]).toEqual(serverBar(T0, 10)); // 11 of its 25 ticks
    expect(c.bars()[0]!.volume).toBeLessThan(serverBar(T0, 49).volume);
    expect(reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(GRACE_MS + 10);
    expect(reads).toEqual([3]); // the first bucket to the newest, and one more
    expect(c.bars()[0]).toEqual(serverBar(T0, 49));

    // 2. Live, then a hole the backfill could not fill: ticks 65-76 (the end of the third bucket
    // and the start of the fourth) and their events never came. The bar before it was confirmed
    // by its last event; the stream says where the hole was.
    for (let n = 50; n <= 64; n += 3) c.onItems(live(n, Math.min(n + 2, 64)));
    latest = 76;
    c.onItems([{ kind: 'gap', fromMs: at(64), toMs: at(77) }, ...live(77, 80)]);
    for (let n = 81; n <= 99; n += 3) c.onItems(live(n, Math.min(n + 2, 99)));
    const third = T0 + 10;
    expect(c.bars().find((b) => b.time === third)!.volume).toBe(15); // ticks 50-64 only
    await vi.advanceTimersByTimeAsync(2000 + 10); // reads at least 2 s apart
    expect(reads).toHaveLength(2);
    expect(c.bars().find((b) => b.time === third)).toEqual(serverBar(third, 99));

    // 3. The link drops; the reconnect's snapshot has candles read at tick 103 (fifth bucket
    // forming) and ticks to 126; joined at 128. The fifth bucket (100-124) closed meanwhile.
    c.onItems([snapshot(103, 126, true)]);
    c.onItems(live(127, 128, false));
    for (let n = 129; n <= 140; n += 2) c.onItems(live(n, Math.min(n + 1, 140)));
    const fifth = T0 + 20;
    expect(c.bars().find((b) => b.time === fifth)).toEqual(serverBar(fifth, 103));
    await vi.advanceTimersByTimeAsync(2000 + 10);
    expect(reads).toHaveLength(3);
    expect(c.bars().find((b) => b.time === fifth)).toEqual(serverBar(fifth, 140));

    // Every closed bar is the server's; nothing more is read while events keep coming.
    const { chart, server } = closed(c);
    expect(chart.map((b) => b.time)).toEqual(server.map((b) => b.time));
    expect(chart).toEqual(server);
    for (let n = 141; n <= 175; n += 2) c.onItems(live(n, Math.min(n + 1, 175)));
    await vi.advanceTimersByTimeAsync(GRACE_MS * 5);
    expect(reads).toHaveLength(3);
    // The chart draws what its model holds.
    const series = lwc.charts[0]!.series[0]!.data;
    expect(series.find((d) => d.time === fifth)).toMatchObject({ close: serverBar(fifth, 140).close, high: serverBar(fifth, 140).high });
    c.destroy();
  });

  test('a bar left out of the snapshot entirely (no tick of it yet when the candles were read) is added', async () => {
    const c = setup();
    // Candles read at tick 20 (first bucket), tick snapshot at 60: the second bucket (25-49) had
    // all its ticks in between; the first live bar is the third.
    c.onItems([snapshot(20, 60, false)]);
    c.onItems(live(61, 62, false));
    for (let n = 63; n <= 70; n += 2) c.onItems(live(n, n + 1));
    expect(c.bars().map((b) => b.time)).toEqual([T0, T0 + 10]);
    await vi.advanceTimersByTimeAsync(GRACE_MS + 10);
    expect(c.bars().map((b) => b.time)).toEqual([T0, T0 + 5, T0 + 10]);
    expect(closed(c).chart).toEqual(closed(c).server);
    c.destroy();
  });

  test('a failed read is tried again with backoff', async () => {
    const c = setup();
    c.onItems([snapshot(10, 30, false)]);
    c.onItems(live(31, 35, false));
    let fail = true;
    const failing = (input: RequestInfo | URL) => (fail ? Promise.reject(new TypeError('network down')) : fakeFetch(input));
    (c as unknown as { fetch: typeof fetch }).fetch = failing as typeof fetch;
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    await vi.advanceTimersByTimeAsync(GRACE_MS + 10);
    expect(info.mock.calls.flat().join('\n')).toMatch(/re-reading 1 closed bar\(s\) failed .*again in \d+ ms/);
    fail = false;
    await vi.advanceTimersByTimeAsync(2100);
    expect(reads).toHaveLength(1);
    expect(c.bars()[0]).toEqual(serverBar(T0, 35));
    info.mockRestore();
    c.destroy();
  });

  test('a read answered after the chart moved to another pair, or after a fresh snapshot, changes nothing', async () => {
    const c = setup();
    const answers: (() => void)[] = [];
    (c as unknown as { fetch: typeof fetch }).fetch = ((input: RequestInfo | URL) =>
      new Promise<Response>((resolve) => answers.push(() => void fakeFetch(input).then(resolve)))) as typeof fetch;
    c.onItems([snapshot(10, 30, false)]);
    c.onItems(live(31, 35, false));
    await vi.advanceTimersByTimeAsync(GRACE_MS + 10);
    expect(answers).toHaveLength(1);
    // A fresh snapshot while the read is under way: it may be newer than what the read holds.
    c.onItems([snapshot(12, 36, true)]);
    c.onItems(live(37, 38, false));
    answers.shift()!();
    await vi.advanceTimersByTimeAsync(1);
    expect(c.bars()[0]).toEqual(serverBar(T0, 12)); // not set from the voided read ...
    await vi.advanceTimersByTimeAsync(2000);
    expect(answers).toHaveLength(1); // ... but read again
    answers.shift()!();
    await vi.advanceTimersByTimeAsync(1);
    expect(c.bars()[0]).toEqual(serverBar(T0, 38));
    // Another pair while a read is under way: its answer is dropped.
    c.onItems(live(39, 47));
    c.onItems(live(48, 49, false)); // the second bucket's last ticks came without their event
    c.onItems(live(50, 55));
    await vi.advanceTimersByTimeAsync(2100);
    expect(answers).toHaveLength(1);
    c.setContext('GBP/USD_otc', '5S', []);
    answers.shift()!();
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.bars()).toEqual([]);
    expect(answers).toHaveLength(0);
    c.destroy();
  });
});
