import { WebSocketServer } from 'ws';
import { afterEach, expect, test } from 'vitest';
import { WsFeed } from '../../src/feeds/ws-feed.js';
import { createLogger } from '../../src/observability/logger.js';
import { waitFor } from '../helpers/test-app.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test('a feed that goes silent (no messages, no pongs) is dropped and reopened', async () => {
  // autoPong off: the server neither talks nor answers pings, like a hung peer.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  let connections = 0;
  wss.on('connection', () => connections++);
  const { port } = wss.address() as { port: number };
  const feed = new WsFeed({ url: `ws://127.0.0.1:${port}`, log: createLogger('silent'), silentMs: 300, minBackoffMs: 20, maxBackoffMs: 50 });
  cleanups.push(() => feed.close());
  await waitFor(() => connections >= 1, 5000, 'first connection');
  await waitFor(() => connections >= 2, 5000, 'reconnect after silence');
  expect(feed.connects).toBeGreaterThanOrEqual(2);
});

test('messages become batches; close() ends the iteration', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ pair: 'A', price: 1, timestamp: 1 }));
    ws.send(JSON.stringify([{ pair: 'B', price: 2, timestamp: 2 }, { pair: 'C', price: 3, timestamp: 3 }]));
  });
  const { port } = wss.address() as { port: number };
  const bad: string[] = [];
  const feed = new WsFeed({ url: `ws://127.0.0.1:${port}`, log: createLogger('silent'), onBadMessage: (r) => bad.push(r) });
  const batches: unknown[][] = [];
  for await (const batch of feed) {
    batches.push(batch);
    if (batches.length === 2) await feed.close();
  }
  expect(batches).toEqual([
    [{ pair: 'A', price: 1, timestamp: 1 }],
    [{ pair: 'B', price: 2, timestamp: 2 }, { pair: 'C', price: 3, timestamp: 3 }],
  ]);
  expect(bad).toEqual([]);
});
