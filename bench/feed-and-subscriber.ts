/**
 * The outside world of the working-point phases, in a process of its own (started by
 * hot-path.ts through `fork`, driven over the IPC channel), so that QuFLX's process and its
 * Redis are measured alone:
 * - a ws:// tick feed that QuFLX connects to (FEED=ws://...), sending one tick per message at a
 *   paced rate, round robin over the pairs;
 * - a Socket.IO subscriber of those pairs, timing each tick from its ws send to its arrival in a
 *   `ticks` event on this process's one clock, and checking that every tick arrives exactly once
 *   and in seq order.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SeqTick } from '../src/core/tick.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/shared/events.js';
import { summarize, type Summary } from './stats.js';
import { TickFactory } from './tick-factory.js';

export type ClientCommand =
  | { cmd: 'subscribe'; url: string; pairs: string[] }
  | { cmd: 'unsubscribe' }
  | { cmd: 'run'; ratePerS: number; durationMs: number; settleMs: number; pairs: string[] }
  | { cmd: 'exit' };

export interface WorkingPointResult {
  sent: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Ticks whose seq was not the previous one of their pair + 1. */
  outOfOrder: number;
  sentRatePerS: number;
  sendMs: number;
  /** `ticks` events received. */
  events: number;
  /** ws send to `ticks` event, ms. */
  latencyMs: Summary;
  /** This process's event-loop delay while it ran (its own timers skew its figures when high). */
  clientLoopDelayP99Ms: number;
}

export type ClientReport =
  | { type: 'listening'; port: number }
  | { type: 'feed-connected' }
  | { type: 'subscribed' }
  | { type: 'unsubscribed' }
  | { type: 'result'; result: WorkingPointResult }
  | { type: 'error'; message: string };

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const report = (r: ClientReport) => process.send!(r);
// Ids far above the parent's factory: both feed the same QuFLX, and a repeated id is a duplicate.
const factory = new TickFactory(['-'], 1e12);

let feedSocket: WebSocket | null = null;
let subscriber: ClientSocket | null = null;
const lastSeq = new Map<string, number>();
/** Set while a run listens for its ticks. */
let onTicks: ((ticks: SeqTick[], now: number) => void) | null = null;

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => report({ type: 'listening', port: (wss.address() as { port: number }).port }));
wss.on('connection', (ws) => {
  feedSocket = ws;
  ws.on('close', () => {
    if (feedSocket === ws) feedSocket = null;
  });
  report({ type: 'feed-connected' });
});

async function subscribe(url: string, pairs: string[]): Promise<void> {
  const socket: ClientSocket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(new Error(`socket.io connect failed: ${err.message}`)));
  });
  socket.on('ticks', (ticks) => onTicks?.(ticks, performance.now()));
  for (const pair of pairs) {
    const ack = await socket.timeout(10_000).emitWithAck('subscribe', { pair });
    if (!ack.ok) throw new Error(`subscribe ${pair} failed: ${ack.error}`);
    lastSeq.set(pair, ack.seq);
  }
  subscriber = socket;
}

async function run(ratePerS: number, durationMs: number, settleMs: number, pairs: string[]): Promise<WorkingPointResult> {
  const ws = feedSocket;
  if (!ws) throw new Error('QuFLX is not connected to the feed');
  const total = Math.round((ratePerS * durationMs) / 1000);
  const firstId = factory.nextId;
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total);
  const received = new Uint8Array(total);
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let events = 0;
  onTicks = (ticks, now) => {
    events++;
    for (const t of ticks) {
      const k = Number(t.id) - firstId;
      const prev = lastSeq.get(t.pair);
      if (prev === undefined || t.seq !== prev + 1) outOfOrder++;
      lastSeq.set(t.pair, t.seq);
      if (!(k >= 0 && k < total)) continue;
      if (received[k]) {
        duplicates++;
        continue;
      }
      received[k] = 1;
      latency[delivered++] = now - sentAt[k]!;
    }
  };
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * ratePerS) / 1000));
      for (; sent < due; sent++) {
        const tick = factory.next(pairs[sent % pairs.length]!);
        sentAt[sent] = performance.now();
        ws.send(JSON.stringify(tick)); // one tick per message, as a broker page sends them
      }
      if (sent >= total) resolve();
      else setTimeout(step, 1);
    };
    step();
  });
  const sendMs = performance.now() - t0;
  const settleUntil = performance.now() + settleMs;
  while (delivered < sent && performance.now() < settleUntil) await new Promise((r) => setTimeout(r, 10));
  loopDelay.disable();
  onTicks = null;
  return {
    sent,
    delivered,
    lost: sent - delivered,
    duplicates,
    outOfOrder,
    sentRatePerS: sent / (sendMs / 1000),
    sendMs,
    events,
    latencyMs: summarize(latency.subarray(0, delivered)),
    clientLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
}

process.on('message', (m: ClientCommand) => {
  const handle = async (): Promise<ClientReport | null> => {
    switch (m.cmd) {
      case 'subscribe':
        await subscribe(m.url, m.pairs);
        return { type: 'subscribed' };
      case 'unsubscribe':
        subscriber?.disconnect();
        subscriber = null;
        return { type: 'unsubscribed' };
      case 'run':
        return { type: 'result', result: await run(m.ratePerS, m.durationMs, m.settleMs, m.pairs) };
      case 'exit':
        subscriber?.disconnect();
        feedSocket?.terminate();
        wss.close();
        process.disconnect();
        return null;
    }
  };
  handle().then(
    (r) => r && report(r),
    (err: Error) => report({ type: 'error', message: err.message }),
  );
});
// The parent went away without saying goodbye: do not linger.
process.on('disconnect', () => process.exit(0));
