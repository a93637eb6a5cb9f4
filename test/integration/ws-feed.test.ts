import { WebSocketServer } from 'ws';
import { expect, test } from 'vitest';
import { WsFeed } from '../../src/feeds/ws-feed.js';
import { createLogger } from '../../src/observability/logger.js';
import { waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

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
  // The server sees a connection before the feed sees it open: wait for the feed's count too.
  await waitFor(() => feed.connects >= 2, 5000, 'the feed counting its reopened link');
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

test('a feed that accepts and drops at once is retried with growing waits, not in a storm', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const opened: number[] = [];
  wss.on('connection', (ws) => {
    opened.push(Date.now());
    ws.close(1011, 'going away');
  });
  const { port } = wss.address() as { port: number };
  // The defaults (100 ms first wait, 10 s cap): the first release reconnected about 8 times a second.
  const feed = new WsFeed({ url: `ws://127.0.0.1:${port}`, log: createLogger('silent') });
  cleanups.push(() => feed.close());
  await new Promise((r) => setTimeout(r, 3000));
  // Waits drawn from [d/2, d] with d = 100, 200, 400, 800, 1600 ms: 5 or 6 opens in 3 s (fewer when slow).
  expect(opened.length).toBeGreaterThanOrEqual(4);
  expect(opened.length).toBeLessThanOrEqual(6);
  const gaps = opened.slice(1).map((t, i) => t - opened[i]!);
  // Each wait is at least the one before (d doubles; the lower half of one is the upper bound of the last).
  for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]! - 30);
  expect(gaps[2]!).toBeGreaterThanOrEqual(200);
});

test('a link that stayed healthy starts the backoff over', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const opened: number[] = [];
  let keepNext = false;
  wss.on('connection', (ws) => {
    opened.push(Date.now());
    if (keepNext) setTimeout(() => ws.close(), 400); // healthy for longer than healthyMs
    else ws.close();
  });
  const { port } = wss.address() as { port: number };
  const feed = new WsFeed({ url: `ws://127.0.0.1:${port}`, log: createLogger('silent'), minBackoffMs: 100, maxBackoffMs: 10_000, healthyMs: 200 });
  cleanups.push(() => feed.close());
  await waitFor(() => opened.length >= 4, 10_000, 'four quick failures'); // waits grew to ~800 ms
  keepNext = true;
  const n = opened.length;
  await waitFor(() => opened.length >= n + 1, 10_000, 'the healthy link');
  keepNext = false;
  const healthyAt = opened.at(-1)!;
  await waitFor(() => opened.length >= n + 2, 10_000, 'the reconnect after it');
  // Closed ~400 ms after opening; the next attempt comes after the first wait again (50-100 ms),
  // not after the fifth (800-1600 ms).
  expect(opened.at(-1)! - healthyAt).toBeLessThan(1000);
});
