import { describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { CLIENT_BUFFER_LIMITS } from '../../src/gateway/client-backpressure.js';
import { RawPollingClient, RawWebSocketClient, subscribePacket } from '../helpers/raw-socketio.js';
import { TickCollector } from '../helpers/socket-client.js';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

const PAIR = 'EUR/USD_otc';
/** About 200 bytes of JSON each, so megabytes flow quickly. */
function bulkyTicks(n: number): Tick[] {
  const start = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) => ({ pair: PAIR, price: 1 + (i % 1000) / 100_000, timestamp: asEpochMs(start + (i % 50_000)), id: `${'x'.repeat(100)}-${i}` }));
}

/** Bytes the server holds for one socket: packets not yet handed to the transport, plus the websocket's unsent bytes. */
function bufferedFor(t: TestApp, socketId: string): number {
  const socket = t.app.gateway.io.of('/').sockets.get(socketId);
  if (!socket) return 0;
  const conn = socket.conn as unknown as { writeBuffer: { data?: string }[]; transport: { socket?: { bufferedAmount?: number } } };
  const queued = conn.writeBuffer.reduce((n, p) => n + (p.data?.length ?? 0), 0);
  return queued + (conn.transport.socket?.bufferedAmount ?? 0);
}

/** Samples the largest buffer any socket other than `except` has on the server, until stopped. */
function sampleLargestBuffer(t: TestApp, except: string) {
  let max = 0;
  const timer = setInterval(() => {
    for (const id of t.app.gateway.io.of('/').sockets.keys()) if (id !== except) max = Math.max(max, bufferedFor(t, id));
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
  };
}

/**
 * Sends ticks through ingest in micro-batches (2000 a round trip), one after another, until
 * `done()` holds and `after` more ticks went out, or `max` ticks were sent. Returns the ticks sent.
 */
async function pump(t: TestApp, done: () => boolean | Promise<boolean>, max: number, after = 10_000): Promise<Tick[]> {
  const ticks = bulkyTicks(max);
  let stopAt = max;
  for (let i = 0; i < stopAt; i += 2000) {
    await t.app.ingestor.submit(ticks.slice(i, i + 2000), 'http');
    if (stopAt === max && (await done())) stopAt = Math.min(max, i + 2000 + after);
  }
  return ticks.slice(0, stopAt);
}

async function metric(t: TestApp, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

/** A packet's worth of slack over the limit: one fan-out of a 2000-tick micro-batch. */
const ONE_PACKET = 2000 * 220;

describe('clients that never read', () => {
  test('a websocket client that keeps the heartbeat but stops reading is dropped; the server holds at most the bound for it', { timeout: 120_000 }, async () => {
    const t = await startTestApp();
    cleanups.push(() => t.close());
    const normal = await TickCollector.connect(t.url);
    cleanups.push(() => normal.close());
    expect(await normal.subscribe(PAIR)).toMatchObject({ ok: true });

    const slow = await RawWebSocketClient.connect(t.url);
    cleanups.push(() => slow.close());
    slow.send(subscribePacket({ pair: PAIR }));
    await waitFor(() => slow.received.some((m) => m.startsWith('430')), 5000, 'subscribe ack');
    slow.stopReading();

    const sampler = sampleLargestBuffer(t, normal.socket.id!);
    // Up to 150,000 ticks (about 30 MB); kernel buffers take the first few MB.
    const ticks = await pump(t, () => slow.isClosed, 150_000);
    await waitFor(() => slow.isClosed, 20_000, 'the slow client dropped');
    const largest = sampler.stop();

    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(CLIENT_BUFFER_LIMITS.maxBytes + ONE_PACKET);
    expect(await metric(t, /quflx_socket_slow_disconnects_total\{transport="websocket"\} (\d+)/)).toBe(1);
    // The normal subscriber alongside got every tick, once, in order.
    await waitFor(() => normal.ticks(PAIR).length >= ticks.length, 60_000, 'every tick at the normal subscriber');
    expect(normal.ticks(PAIR).map((x) => x.seq)).toEqual(Array.from({ length: ticks.length }, (_, i) => i + 1));
    expect(normal.socket.connected).toBe(true);
  });

  test('a long-polling client that never polls is dropped; the server holds at most the bound for it', { timeout: 120_000 }, async () => {
    const t = await startTestApp();
    cleanups.push(() => t.close());
    const normal = await TickCollector.connect(t.url);
    cleanups.push(() => normal.close());
    expect(await normal.subscribe(PAIR)).toMatchObject({ ok: true });

    const slow = await RawPollingClient.connect(t.url);
    cleanups.push(() => slow.close());
    expect(await slow.post(subscribePacket({ pair: PAIR }))).toBe(200);
    slow.keepAlive();
    await waitFor(() => t.app.gateway.io.of('/').sockets.size === 2, 5000, 'both clients connected');

    const sampler = sampleLargestBuffer(t, normal.socket.id!);
    const ticks = await pump(t, () => t.app.gateway.io.of('/').sockets.size === 1, 60_000);
    await waitFor(async () => (await metric(t, /quflx_socket_slow_disconnects_total\{transport="polling"\} (\d+)/)) === 1, 20_000, 'the polling client dropped');
    const largest = sampler.stop();

    expect(largest).toBeLessThanOrEqual(CLIENT_BUFFER_LIMITS.maxBytes + ONE_PACKET);
    expect(t.app.gateway.io.of('/').sockets.size).toBe(1);
    // Its session is gone: a late poll is refused (a real client then reconnects and resubscribes).
    expect((await slow.poll()).status).toBe(400);
    await waitFor(() => normal.ticks(PAIR).length >= ticks.length, 60_000, 'every tick at the normal subscriber');
    expect(normal.ticks(PAIR).map((x) => x.seq)).toEqual(Array.from({ length: ticks.length }, (_, i) => i + 1));
  });
});
