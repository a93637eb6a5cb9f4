import { describe, expect, test } from 'vitest';
import { TickCollector } from '../helpers/socket-client.js';
import { getJson, postTicks, startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';
import { defaultSpec } from '../../src/core/indicators/catalog.js';
import { computeIndicator } from '../../src/core/indicators/indicator-series.js';
import type { Candle as StoredCandle } from '../../src/core/candle.js';
import type { Candle, CandleEvent } from '../../src/shared/events.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

const PAIR = 'EUR/USD_otc';

describe('live candles of a new subscriber', () => {
  test('a bar that closes while the subscribe is answered reaches the subscriber as the server has it', async () => {
    // A small cache, so a subscribe with an indicator (cache + warm-up) reads the database.
    const t: TestApp = await startTestApp({ CANDLE_CACHE_SIZE: '20' });
    cleanups.push(() => t.close());
    const start = (Math.floor(Date.now() / 5000) - 60) * 5000; // 5 minutes ago, on a 5 s boundary
    const history = Array.from({ length: 30 * 4 }, (_, i) => ({ pair: PAIR, price: 1.1 + (i % 7) / 10_000, timestamp: start + Math.floor(i / 4) * 5000 + (i % 4) * 1000 }));
    expect((await postTicks(t.url, history)).status).toBe(202);
    const newest = (start + 29 * 5000) / 1000; // the newest bucket, 4 ticks so far
    await waitFor(async () => (await getJson(`${t.url}/api/candles?pair=${PAIR}&timeframe=5S`)).candles.at(-1)?.volume === 4, 10_000, 'the candle cache');

    // The database answers slowly (a lock held on the rollups): the subscribe's candle read waits.
    const lock = await t.db.pool.connect();
    let locked = true;
    const release = async () => {
      if (!locked) return;
      locked = false;
      await lock.query('COMMIT');
      lock.release();
    };
    cleanups.push(release);
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE tick_rollups IN ACCESS EXCLUSIVE MODE');
    const holder = (await lock.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;

    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    const events: CandleEvent[] = [];
    c.socket.on('candle', (e) => events.push(e));
    const answer = c.socket.timeout(20_000).emitWithAck('subscribe', { pair: PAIR, timeframe: '5S', indicators: [{ name: 'sma', period: 5 }] });
    await waitFor(
      async () => (await t.db.pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query ILIKE 'select%tick_rollups%'", [holder])).rows[0].n > 0,
      10_000,
      'the subscribe waiting for the database',
    );
    // Meanwhile the newest bucket takes two more ticks and closes: the next one opens.
    const more = [
      { pair: PAIR, price: 1.2, timestamp: newest * 1000 + 4000 },
      { pair: PAIR, price: 1.0, timestamp: newest * 1000 + 4500 },
      { pair: PAIR, price: 1.15, timestamp: newest * 1000 + 5200 },
    ];
    expect((await postTicks(t.url, more)).body).toEqual({ accepted: 3, duplicates: 0 });
    await waitFor(async () => (await getJson(`${t.url}/api/candles?pair=${PAIR}&timeframe=5S`)).candles.at(-1)?.time === newest + 5, 10_000, 'the ticks in the cache');
    await release();

    const ack = await answer;
    expect(ack).toMatchObject({ ok: true, timeframe: '5S' });
    // Its candles were read before the three ticks, its tick snapshot after them.
    expect(ack.ok && ack.candles.at(-1)).toMatchObject({ time: newest, volume: 4 });
    expect(ack.ok && ack.ticks.at(-1)).toMatchObject({ price: 1.15 });
    const server = (await getJson(`${t.url}/api/candles?pair=${PAIR}&timeframe=5S&limit=5`)).candles as Candle[];
    const closed = server.find((b) => b.time === newest)!;
    expect(closed).toMatchObject({ volume: 6, high: 1.2, low: 1.0 });
    // The snapshot was read before those ticks; the events that carried them went out before
    // the socket joined. The subscriber is sent the bars as they are now, after its ack.
    await waitFor(() => events.some((e) => e.candle.time === newest + 5), 10_000, 'the new bar');
    const last = (time: number) => events.filter((e) => e.candle.time === time).at(-1)?.candle;
    expect(last(newest)).toEqual(closed);
    expect(last(newest + 5)).toEqual(server.find((b) => b.time === newest + 5));
    expect(events.every((e) => e.pair === PAIR && e.timeframe === '5S')).toBe(true);
    // With the indicator's values over the bars as they are now (its live state took them too).
    const all = (await getJson(`${t.url}/api/candles?pair=${PAIR}&timeframe=5S&limit=100`)).candles as StoredCandle[];
    const sma = computeIndicator(defaultSpec('sma', { period: 5 }), all);
    const value = (time: number) => events.filter((e) => e.candle.time === time).at(-1)?.indicators?.['sma(period=5)'] as number;
    for (const time of [newest, newest + 5]) expect(value(time)).toBeCloseTo(sma.find((p) => p.time === time)!.value as number, 12);
  });
});
