import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { SeqTick } from '../src/core/tick.js';
import { validateTickBatch } from '../src/core/tick-validation.js';
import type { Ingestor } from '../src/ingest/ingestor.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/shared/events.js';
import { summarize, type Summary } from './stats.js';
import type { TickFactory } from './tick-factory.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface LiveRunOptions {
  /** QuFLX's base URL (Socket.IO on the same port). */
  url: string;
  ingestor: Ingestor;
  factory: TickFactory;
  /** Pairs the client subscribes to; ticks are sent round robin over them. */
  pairs: readonly string[];
  ratePerS: number;
  durationMs: number;
  /** Pacing timer period; each period submits the ticks that have come due (a small group). */
  groupIntervalMs?: number;
  /** How long to wait after the last submit for stragglers. */
  settleMs?: number;
}

export interface LiveRunResult {
  sent: number;
  accepted: number;
  rejected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Ticks whose seq was not the previous one of their pair + 1 (a gap or reordering). */
  outOfOrder: number;
  /** Ticks received that this run did not send. */
  foreign: number;
  /** Rate actually achieved by the pacing timer. */
  sentRatePerS: number;
  /** `ticks` events received and ticks per event. */
  events: number;
  /** Submit to receipt in the subscriber's `ticks` handler, ms (delivered ticks only). */
  latencyMs: Summary;
  /** Event-loop delay of the (shared) process during the run, ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

/**
 * Tick to Socket.IO subscriber, end to end: a socket.io-client (websocket transport) subscribes to
 * the pairs, then ticks are validated and submitted to the Ingestor at a fixed rate, in small
 * groups paced by a timer. The submit time of each tick (by id) and its receipt time in the
 * `ticks` handler are taken with one clock (same process). Also checks that every tick arrives
 * exactly once and, per pair, in seq order continuing from the subscribe snapshot.
 */
export async function measureLive(options: LiveRunOptions): Promise<LiveRunResult> {
  const total = Math.round((options.ratePerS * options.durationMs) / 1000);
  const interval = options.groupIntervalMs ?? 2;
  const firstId = options.factory.nextId;
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total);
  const received = new Uint8Array(total);
  const lastSeq = new Map<string, number>();
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let foreign = 0;
  let events = 0;

  const socket: ClientSocket = io(options.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  socket.on('ticks', (ticks: SeqTick[]) => {
    const now = performance.now();
    events++;
    for (const t of ticks) {
      const k = Number(t.id) - firstId;
      if (!(k >= 0 && k < total)) {
        foreign++;
        continue;
      }
      if (received[k]) {
        duplicates++;
        continue;
      }
      received[k] = 1;
      latency[delivered++] = now - sentAt[k]!;
      const prev = lastSeq.get(t.pair);
      if (prev === undefined || t.seq !== prev + 1) outOfOrder++;
      lastSeq.set(t.pair, t.seq);
    }
  });

  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(new Error(`socket.io connect failed: ${err.message}`)));
    });
    for (const pair of options.pairs) {
      const ack = await socket.timeout(5000).emitWithAck('subscribe', { pair });
      if (!ack.ok) throw new Error(`subscribe ${pair} failed: ${ack.error}`);
      lastSeq.set(pair, ack.seq);
    }

    loopDelay.enable();
    let sent = 0;
    let accepted = 0;
    let rejected = 0;
    const submits: Promise<void>[] = [];
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const step = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * options.ratePerS) / 1000));
        if (due > sent) {
          const n = due - sent;
          const ticks = validateTickBatch(options.factory.batch(n, sent), Date.now());
          const at = performance.now();
          for (let i = 0; i < n; i++) sentAt[sent + i] = at;
          submits.push(
            options.ingestor.submit(ticks, 'bench').then(
              (r) => void (accepted += r.accepted),
              () => void (rejected += n),
            ),
          );
          sent = due;
        }
        if (sent >= total) resolve();
        else setTimeout(step, interval);
      };
      step();
    });
    const sendMs = performance.now() - t0;
    await Promise.all(submits);

    const settleUntil = performance.now() + (options.settleMs ?? 3000);
    while (delivered + duplicates < accepted && performance.now() < settleUntil) {
      await new Promise((r) => setTimeout(r, 10));
    }
    loopDelay.disable();

    return {
      sent,
      accepted,
      rejected,
      delivered,
      lost: sent - delivered,
      duplicates,
      outOfOrder,
      foreign,
      sentRatePerS: sent / (sendMs / 1000),
      events,
      latencyMs: summarize(latency.subarray(0, delivered)),
      eventLoopDelayMs: {
        p50: loopDelay.percentile(50) / 1e6,
        p99: loopDelay.percentile(99) / 1e6,
        max: loopDelay.max / 1e6,
      },
    };
  } finally {
    loopDelay.disable();
    socket.disconnect();
  }
}
