import { WebSocketServer, type WebSocket } from 'ws';
import { expect, test } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { redisForFile } from '../helpers/file-redis.js';

const redis = redisForFile();
const cleanups = cleanupsAfterEach();

/** A feed server of the test's own and QuFLX following it. */
async function appWithFeed(env: Record<string, string> = {}): Promise<{ t: TestApp; send: (data: string) => void }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const clients = new Set<WebSocket>();
  wss.on('connection', (ws) => clients.add(ws));
  cleanups.push(() => new Promise<void>((r) => (clients.forEach((c) => c.terminate()), wss.close(() => r()))));
  const t = await startTestApp({ FEED: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, BATCH_INTERVAL_MS: '200', ...env });
  cleanups.push(() => t.close());
  await waitFor(() => clients.size === 1, 5000, 'feed connected');
  return { t, send: (data) => clients.forEach((ws) => ws.send(data)) };
}

function message(n: number): string {
  const start = Date.now() - 50_000;
  const ticks = Array.from({ length: n }, (_, i) => ({ pair: 'EUR/USD_otc', price: 1 + (i % 997) / 100_000, timestamp: start + (i % 40_000), id: `m-${i}` }));
  return JSON.stringify(ticks);
}

async function metrics(t: TestApp): Promise<string> {
  return (await fetch(`${t.url}/metrics`)).text();
}
const value = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 'NaN');

/** Zero loss by identity: the stored feed ids are exactly the accepted ones (all in the recent list), each once. */
async function expectStoredExactly(t: TestApp, accepted: number): Promise<void> {
  await waitFor(async () => (await t.db.count()) >= accepted, 60_000, 'every accepted tick stored');
  const listed = (await redis.lRange(`${t.prefix}ticks:EURUSD_otc`, 0, -1)).map((s) => JSON.parse(s).id as string);
  expect(listed).toHaveLength(accepted);
  const stored = (await t.db.pool.query<{ feed_id: string }>('SELECT feed_id FROM historical_ticks')).rows.map((r) => r.feed_id);
  expect(stored).toHaveLength(accepted);
  expect(new Set(stored)).toEqual(new Set(listed));
}

test('a 90,000-tick message is written in micro-batches of at most 2,000 ticks, every tick once', async () => {
  const { t, send } = await appWithFeed({ TICK_BUFFER_SIZE: '100000' });
  send(message(90_000));
  await waitFor(async () => value(await metrics(t), /quflx_ticks_accepted_total\{source="ws"\} (\d+)/) === 90_000, 60_000, 'all accepted');
  const text = await metrics(t);
  const batches = value(text, /quflx_ingest_batch_ticks_count (\d+)/);
  expect(batches).toBeGreaterThanOrEqual(45);
  // Every round trip carried at most 2,000 ticks (the histogram's 2000 bucket holds them all).
  expect(value(text, /quflx_ingest_batch_ticks_bucket\{le="2000"\} (\d+)/)).toBe(batches);
  expect(await redis.get(`${t.prefix}seq:EURUSD_otc`)).toBe('90000');
  await expectStoredExactly(t, 90_000);
});

test('a message bigger than the ingest queue: what fits is taken, the rest is dropped and counted exactly', async () => {
  const { t, send } = await appWithFeed({ TICK_BUFFER_SIZE: '200000' });
  const n = 200_000; // the queue holds 100,000
  send(message(n));
  // The whole message is accounted for: taken (and then accepted) or dropped.
  const accounted = async () => {
    const text = await metrics(t);
    const accepted = value(text, /quflx_ticks_accepted_total\{source="ws"\} (\d+)/) || 0;
    const dropped = value(text, /quflx_buffer_overflow_total\{buffer="ingest"\} (\d+)/) || 0;
    return accepted + dropped === n && t.app.ingestor.backlog === 0 ? { accepted, dropped } : null;
  };
  const { accepted, dropped } = (await waitFor(accounted, 60_000, 'the whole message accounted for'))!;
  expect(accepted).toBeGreaterThanOrEqual(100_000); // the queue was empty: at least a queue's worth
  expect(dropped).toBeGreaterThan(0);
  expect(Number(await redis.get(`${t.prefix}seq:EURUSD_otc`))).toBe(accepted);
  await expectStoredExactly(t, accepted);
});
