import { createClient } from 'redis';
import { WebSocketServer, type WebSocket } from 'ws';
import { describe, expect, test } from 'vitest';
import { freePort } from '../../src/lib/processes.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { makeTicks, TickCollector } from '../helpers/socket-client.js';
import { getJson, postTicks, startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('Redis killed and restarted mid-stream', () => {
  test('the server recovers, resubscribes, answers 503 meanwhile, and no accepted tick is missing', async () => {
    const redisProc = await RedisProcess.start('always');
    cleanups.push(() => redisProc.stop());
    const t = await startTestApp({ REDIS_URL: redisProc.url, TICK_BUFFER_SIZE: '100000' });
    cleanups.push(() => t.close());
    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    await c.subscribe('EUR/USD_otc');

    // A feed-like source offers ticks all through the outage.
    const ticks = makeTicks('EUR/USD_otc', 3000);
    let offered = 0;
    const feeding = (async () => {
      while (offered < ticks.length) {
        t.app.ingestor.offer(ticks.slice(offered, offered + 10), 'ws');
        offered += 10;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 300, 10_000, 'ticks before the kill');
    await redisProc.kill();

    // While Redis is away: HTTP says 503 with Retry-After and takes nothing; health is degraded.
    await waitFor(async () => (await postTicks(t.url, makeTicks('GBP/USD_otc', 1))).status === 503, 5000, '503');
    const refused = await postTicks(t.url, makeTicks('GBP/USD_otc', 2));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.body.error).toMatch(/redis/i);
    const health = await getJson(`${t.url}/health`);
    expect(health).toMatchObject({ status: 'degraded', redis: { status: 'down' } });

    await new Promise((r) => setTimeout(r, 500));
    await redisProc.startServer();
    await feeding;
    await waitFor(() => t.app.ingestor.backlog === 0, 15_000, 'ingest backlog drained');

    // Every accepted tick is in the recent list and the persist queue: seqs 1..N with no gap.
    const check = createClient({ url: redisProc.url, RESP: 2 });
    await check.connect();
    cleanups.push(() => check.close());
    const list = (await check.lRange(`${t.prefix}ticks:EURUSD_otc`, 0, -1)).map((s) => JSON.parse(s).seq).reverse();
    const seq = Number(await check.get(`${t.prefix}seq:EURUSD_otc`));
    expect(seq).toBe(3000); // every offered tick accepted exactly once, outage or not
    expect(list).toEqual(range(1, seq));
    const queued = (await check.xRange(`${t.prefix}queue:persist`, '-', '+')) ?? [];
    const queuedTicks = queued.flatMap((e) => JSON.parse(e.message.t!) as { pair: string; seq: number; timestamp: number }[]);
    const queuedTimes = queuedTicks.filter((x) => x.pair === 'EUR/USD_otc').map((x) => x.timestamp);
    // Whatever the persister already stored has left the queue: together they hold every tick once.
    const stored = (await t.db.pool.query<{ timestamp: string }>(`SELECT "timestamp" FROM historical_ticks WHERE pair = 'EUR/USD_otc'`)).rows.map((r) => Number(r.timestamp));
    expect([...new Set([...stored, ...queuedTimes])].sort((x, y) => x - y)).toEqual(ticks.map((x) => x.timestamp));

    // Pub/sub is resubscribed: new ticks reach the socket again.
    const before = c.ticks('EUR/USD_otc').length;
    expect((await postTicks(t.url, makeTicks('EUR/USD_otc', 5, Date.now()))).status).toBe(202);
    await waitFor(() => c.ticks('EUR/USD_otc').length >= before + 5, 10_000, 'ticks after restart');
    expect(c.ticks('EUR/USD_otc').at(-1)!.seq).toBe(3005);
    expect((await getJson(`${t.url}/health`)).redis.status).toBe('up');
  });
});

describe('subscriber link dropped', () => {
  test('ticks published while the pub/sub link was down are backfilled in order, without repeats', async () => {
    const redisProc = await RedisProcess.start('everysec');
    cleanups.push(() => redisProc.stop());
    const t = await startTestApp({ REDIS_URL: redisProc.url });
    cleanups.push(() => t.close());
    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    await c.subscribe('EUR/USD_otc');
    const ticks = makeTicks('EUR/USD_otc', 40);
    await postTicks(t.url, ticks.slice(0, 10));
    await waitFor(() => c.ticks('EUR/USD_otc').length === 10, 5000, 'first ticks');

    const admin = createClient({ url: redisProc.url, RESP: 2 });
    await admin.connect();
    cleanups.push(() => admin.close());
    // Cut only QuFLX's subscriber connection; the command link stays up and keeps publishing.
    expect(await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toBeGreaterThan(0);
    for (let i = 10; i < 40; i += 5) expect((await postTicks(t.url, ticks.slice(i, i + 5))).status).toBe(202);
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 40, 10_000, 'backfilled ticks');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.ticks('EUR/USD_otc').map((x) => x.seq)).toEqual(range(1, 40));
  });
});

describe('ws feed', () => {
  async function feedServer(port: number) {
    const wss = new WebSocketServer({ port, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const clients = new Set<WebSocket>();
    wss.on('connection', (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
    });
    return {
      wss,
      clients,
      send: (data: unknown) => clients.forEach((ws) => ws.send(typeof data === 'string' ? data : JSON.stringify(data))),
      close: async () => {
        clients.forEach((ws) => ws.terminate());
        await new Promise<void>((r) => wss.close(() => r()));
      },
    };
  }

  test('ingests the feed, drops bad ticks alone, and resumes after the feed drops and returns', async () => {
    const port = await freePort();
    let server = await feedServer(port);
    cleanups.push(() => server.close());
    const t: TestApp = await startTestApp({ FEED: `ws://127.0.0.1:${port}` });
    cleanups.push(() => t.close());
    const c = await TickCollector.connect(t.url);
    cleanups.push(() => c.close());
    await c.subscribe('EUR/USD_otc');
    await waitFor(() => server.clients.size === 1, 5000, 'feed connection');

    const ticks = makeTicks('EUR/USD_otc', 30);
    server.send(ticks.slice(0, 10)); // an array message
    for (const x of ticks.slice(10, 15)) server.send(x); // single-tick messages
    server.send('not json');
    server.send([ticks[15], { pair: 'EUR/USD_otc', price: -1, timestamp: 1 }, ticks[16]]); // one bad tick among good
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 17, 5000, 'feed ticks');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/quflx_ticks_rejected_total\{source="ws"\} 2/);

    // The feed goes away, then comes back on the same address.
    await server.close();
    await new Promise((r) => setTimeout(r, 300));
    server = await feedServer(port);
    await waitFor(() => server.clients.size === 1, 15_000, 'feed reconnection');
    server.send(ticks.slice(17));
    // A replay of old ticks after the reconnect changes nothing.
    server.send(ticks.slice(0, 17));
    await waitFor(() => c.ticks('EUR/USD_otc').length >= 30, 5000, 'ticks after reconnect');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.ticks('EUR/USD_otc').map((x) => x.seq)).toEqual(range(1, 30));
  });
});
