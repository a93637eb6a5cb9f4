/**
 * The load generator of the WORKERS phase (bench/workers.ts), in a process of its own (started
 * through `fork`, driven over the IPC channel), so that QuFLX's processes are measured alone:
 * - `ingest`: HTTP POST /api/ticks of prebuilt batches over a number of keep-alive connections
 *   (node:cluster hands each new connection to the next worker, so they spread over the workers);
 * - `latency`: Socket.IO subscribers (opened back to back, so they land on different workers)
 *   and single ticks POSTed at a paced rate; each tick is timed from its send to its arrival at
 *   each subscriber on this process's one clock, and checked to arrive once and in seq order.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { SeqTick } from '../src/core/tick.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/shared/events.js';
import { summarize, type Summary } from './stats.js';
import { TickFactory } from './tick-factory.js';

export type LoadCommand =
  | { cmd: 'ingest'; url: string; pairs: string[]; ticks: number; batch: number; connections: number; firstId: number }
  | { cmd: 'latency'; url: string; pairs: string[]; ratePerS: number; durationMs: number; connections: number; subscribers: number; firstId: number; settleMs: number }
  | { cmd: 'exit' };

export interface IngestLoadResult {
  accepted: number;
  /** This (load generator) process's CPU during the run, ms. */
  cpuMs: number;
  /** Answers other than 202 (retried: a 503 while a queue is full). */
  retries: number;
  wallMs: number;
  ticksPerS: number;
}

export interface LatencyLoadResult {
  sent: number;
  /** Ticks delivered, summed over the subscribers (each should get every tick). */
  delivered: number;
  expected: number;
  duplicates: number;
  outOfOrder: number;
  failedPosts: number;
  sentRatePerS: number;
  /** Send to arrival at a subscriber, ms, over every (subscriber, tick). */
  latencyMs: Summary;
}

export type LoadReport =
  | { type: 'ready' }
  | { type: 'ingest'; result: IngestLoadResult }
  | { type: 'latency'; result: LatencyLoadResult }
  | { type: 'error'; message: string };

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** POSTs `body` on `agent`'s connection; resolves with the status and the answer's text. */
function post(url: string, agent: Agent, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/ticks`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function ingest(m: Extract<LoadCommand, { cmd: 'ingest' }>): Promise<IngestLoadResult> {
  const factory = new TickFactory(m.pairs, m.firstId);
  // Bodies are built before the clock starts: the figure is QuFLX's, not JSON.stringify's.
  const bodies: string[] = [];
  for (let n = 0; n < m.ticks; n += m.batch) bodies.push(JSON.stringify(factory.batch(Math.min(m.batch, m.ticks - n), n)));
  let next = 0;
  let accepted = 0;
  let retries = 0;
  const agents = Array.from({ length: m.connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    agents.map(async (agent) => {
      for (let i = next++; i < bodies.length; i = next++) {
        for (;;) {
          const res = await post(m.url, agent, bodies[i]!);
          if (res.status === 202) {
            accepted += (JSON.parse(res.text) as { accepted: number }).accepted;
            break;
          }
          retries++;
          if (res.status !== 503) throw new Error(`POST /api/ticks answered ${res.status}: ${res.text.slice(0, 200)}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  for (const a of agents) a.destroy();
  return { accepted, cpuMs: (cpu.user + cpu.system) / 1000, retries, wallMs, ticksPerS: accepted / (wallMs / 1000) };
}

async function connect(url: string, pairs: string[]): Promise<{ socket: ClientSocket; lastSeq: Map<string, number> }> {
  const socket: ClientSocket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(new Error(`socket.io connect failed: ${err.message}`)));
  });
  return { socket, lastSeq: new Map(pairs.map((p) => [p, 0])) };
}

async function latency(m: Extract<LoadCommand, { cmd: 'latency' }>): Promise<LatencyLoadResult> {
  const total = Math.round((m.ratePerS * m.durationMs) / 1000);
  // Opened back to back: node:cluster hands consecutive connections to the workers in turn.
  const subs = await Promise.all(Array.from({ length: m.subscribers }, () => connect(m.url, m.pairs)));
  const sentAt = new Float64Array(total);
  const seen = subs.map(() => new Uint8Array(total));
  const latencies = new Float64Array(total * subs.length);
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  subs.forEach((s, i) => {
    s.socket.on('ticks', (ticks: SeqTick[]) => {
      const now = performance.now();
      for (const t of ticks) {
        const prev = s.lastSeq.get(t.pair);
        if (prev !== undefined && prev !== 0 && t.seq !== prev + 1) outOfOrder++;
        s.lastSeq.set(t.pair, t.seq);
        const k = Number(t.id) - m.firstId;
        if (!(k >= 0 && k < total)) continue;
        if (seen[i]![k]) {
          duplicates++;
          continue;
        }
        seen[i]![k] = 1;
        latencies[delivered++] = now - sentAt[k]!;
      }
    });
  });
  for (const s of subs) {
    for (const pair of m.pairs) {
      const ack = await s.socket.timeout(10_000).emitWithAck('subscribe', { pair });
      if (!ack.ok) throw new Error(`subscribe ${pair} failed: ${ack.error}`);
      s.lastSeq.set(pair, ack.seq);
    }
  }
  const factory = new TickFactory(m.pairs, m.firstId);
  const agent = new Agent({ keepAlive: true, maxSockets: m.connections });
  let sent = 0;
  let failedPosts = 0;
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * m.ratePerS) / 1000));
      for (; sent < due; sent++) {
        const body = JSON.stringify(factory.next(m.pairs[sent % m.pairs.length]!));
        sentAt[sent] = performance.now();
        const p: Promise<void> = post(m.url, agent, body).then(
          (r) => {
            if (r.status !== 202) failedPosts++;
          },
          () => void failedPosts++,
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      if (sent >= total) resolve();
      else setTimeout(step, 1);
    };
    step();
  });
  const sendMs = performance.now() - t0;
  await Promise.all(inFlight);
  const expected = sent * subs.length;
  const settleUntil = performance.now() + m.settleMs;
  while (delivered < expected && performance.now() < settleUntil) await new Promise((r) => setTimeout(r, 10));
  for (const s of subs) s.socket.disconnect();
  agent.destroy();
  return {
    sent,
    delivered,
    expected,
    duplicates,
    outOfOrder,
    failedPosts,
    sentRatePerS: sent / (sendMs / 1000),
    latencyMs: summarize(latencies.subarray(0, delivered)),
  };
}

const report = (r: LoadReport) => process.send!(r);
process.on('message', (m: LoadCommand) => {
  if (m.cmd === 'exit') {
    process.disconnect();
    return;
  }
  const run = m.cmd === 'ingest' ? ingest(m).then((result): LoadReport => ({ type: 'ingest', result })) : latency(m).then((result): LoadReport => ({ type: 'latency', result }));
  run.then(report, (err: Error) => report({ type: 'error', message: err.message }));
});
// The parent went away without saying goodbye: do not linger.
process.on('disconnect', () => process.exit(0));
report({ type: 'ready' });
