// @vitest-environment node
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, test } from 'vitest';
import { StreamClient, type ClientSocket, type StreamItem } from './stream-client.js';
import type { Candle, ClientToServerEvents, SeqTick, ServerToClientEvents, SubscribeAck, SubscribeRequest } from './types.js';

/**
 * A small stand-in for QuFLX's gateway over a real Socket.IO server and HTTP (the same contract:
 * subscribe with an ack snapshot, `ticks` and `candle` events, GET /api/ticks), which the test
 * drives: it makes ticks, can leave seqs out (a gap), and can go away and come back.
 */
class FakeQuflx {
  private http!: HttpServer;
  private io!: Server<ClientToServerEvents, ServerToClientEvents>;
  readonly ticks = new Map<string, SeqTick[]>();
  readonly subscribes: SubscribeRequest[] = [];
  readonly unsubscribes: string[] = [];
  /** Canonical names by the spellings that mean them (one instrument per symbol). */
  readonly canonical = new Map<string, string>();
  /** Subscribes to refuse with the rate limit's answer before taking them. */
  rateLimited = 0;
  /** How long the server takes to answer a subscribe (a cache miss, a busy server). */
  ackDelayMs = 0;
  port = 0;

  async start(): Promise<this> {
    this.http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/api/ticks') {
        const list = this.ticks.get(url.searchParams.get('pair') ?? '') ?? [];
        const limit = Number(url.searchParams.get('limit') ?? 100);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(list.slice(-limit)));
        return;
      }
      res.statusCode = 404;
      res.end('{"error":"no route"}');
    });
    this.io = new Server(this.http, { serveClient: false });
    this.io.on('connection', (socket) => {
      // Like the gateway: one socket's requests are answered in order.
      let queue = Promise.resolve();
      socket.on('subscribe', (req, ack) => {
        this.subscribes.push(req);
        queue = queue.then(async () => {
          if (this.ackDelayMs > 0) await new Promise((r) => setTimeout(r, this.ackDelayMs));
          if (this.rateLimited > 0) {
            this.rateLimited--;
            ack({ ok: false, error: 'too many subscribes on this connection: retry in 0.3 s', retryAfterMs: 300 });
            return;
          }
          const pair = this.canonical.get(req.pair) ?? req.pair;
          const list = this.ticks.get(pair) ?? [];
          void socket.join(pair);
          const reply: SubscribeAck = { ok: true, pair, ticks: list.slice(-100), candles: this.candles(pair), seq: list[list.length - 1]?.seq ?? 0 };
          if (req.timeframe) reply.timeframe = req.timeframe;
          ack(reply);
        });
      });
      socket.on('unsubscribe', (req) => {
        this.unsubscribes.push(req.pair);
        void socket.leave(this.canonical.get(req.pair) ?? req.pair);
      });
    });
    await new Promise<void>((resolve) => this.http.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Makes `n` ticks of a pair; those whose seq is in `drop` are stored but not sent (a gap). */
  emit(pair: string, n: number, drop: number[] = []): SeqTick[] {
    const list = this.ticks.get(pair) ?? [];
    this.ticks.set(pair, list);
    const made: SeqTick[] = [];
    for (let i = 0; i < n; i++) {
      const seq = (list[list.length - 1]?.seq ?? 0) + 1;
      const t = { pair, price: 1 + seq / 1e5, timestamp: (1_700_000_000_000 + seq * 100) as SeqTick['timestamp'], seq };
      list.push(t);
      made.push(t);
    }
    const sent = made.filter((t) => !drop.includes(t.seq));
    if (sent.length > 0) this.io.to(pair).emit('ticks', sent);
    return made;
  }

  emitRaw(pair: string, ticks: SeqTick[]): void {
    this.io.to(pair).emit('ticks', ticks);
  }

  candles(pair: string): Candle[] {
    const list = this.ticks.get(pair) ?? [];
    if (list.length === 0) return [];
    const last = list[list.length - 1]!;
    return [{ time: Math.floor(last.timestamp / 60_000) * 60, open: 1, high: 1.1, low: 0.9, close: last.price, volume: list.length }];
  }

  /** Goes away the way a stopping QuFLX does: sockets told to disconnect, then the port closed. */
  async stop(): Promise<void> {
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}

const servers: FakeQuflx[] = [];
const clients: StreamClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
});

async function fake(): Promise<FakeQuflx> {
  const server = await new FakeQuflx().start();
  servers.push(server);
  return server;
}

/** A StreamClient on the fake server; frames (for the paint meter) run when the test says. */
function client(server: FakeQuflx, options: Partial<ConstructorParameters<typeof StreamClient>[0]> = {}) {
  const frames: (() => void)[] = [];
  const logs: string[] = [];
  const c = new StreamClient({
    url: server.url,
    createSocket: (url) => io(url!, { transports: ['websocket'], reconnection: false, autoConnect: false, forceNew: true }) as ClientSocket,
    fetch: (input, init) => fetch(`${server.url}${String(input)}`, init),
    scheduleFrame: (cb) => frames.push(cb),
    afterFrame: (cb) => cb(),
    backoffMs: { base: 50, cap: 400 },
    log: (m) => logs.push(m),
    ...options,
  });
  clients.push(c);
  const frame = () => {
    for (const cb of frames.splice(0)) cb();
  };
  return { c, frame, frames, logs };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recorder() {
  const batches: StreamItem[][] = [];
  return {
    batches,
    watcher: (demand: { timeframe: string; indicators: [] } | null = null) => ({ demand, onItems: (items: readonly StreamItem[]) => void batches.push([...items]) }),
    items: () => batches.flat(),
    seqs: () => batches.flat().flatMap((i) => (i.kind === 'ticks' ? i.ticks.map((t) => t.seq) : [])),
    snapshots: () => batches.flat().filter((i): i is Extract<StreamItem, { kind: 'snapshot' }> => i.kind === 'snapshot'),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('StreamClient against a real Socket.IO server', () => {
  test('a snapshot, then every tick once in seq order, handed over as it arrives', async () => {
    const server = await fake();
    server.emit('EUR/USD_otc', 5); // before the subscribe: in the snapshot
    const { c } = client(server);
    const r = recorder();
    c.watch('EUR/USD_otc', r.watcher({ timeframe: '1M', indicators: [] }));
    await until(() => r.snapshots().length === 1, 'the snapshot');
    expect(server.subscribes).toEqual([{ pair: 'EUR/USD_otc', timeframe: '1M' }]);
    expect(r.snapshots()[0]).toMatchObject({ kind: 'snapshot', resync: false, ack: { seq: 5, timeframe: '1M' } });
    server.emit('EUR/USD_otc', 3);
    server.emit('EUR/USD_otc', 4);
    // No animation frame runs here: the ticks are handed over without waiting for one.
    await until(() => r.seqs().length === 7, 'ticks 6..12');
    expect(r.seqs()).toEqual(range(6, 12));
    expect(r.batches.map((b) => b.map((i) => i.kind).join())).toEqual(['snapshot', 'ticks', 'ticks']);
    expect(c.stats('EUR/USD_otc')).toMatchObject({ price: 1.00012, seq: 12 });
  });

  test('repeats are dropped', async () => {
    const server = await fake();
    const { c } = client(server);
    const r = recorder();
    c.watch('GBP/USD_otc', r.watcher());
    await until(() => r.snapshots().length === 1, 'the snapshot');
    const made = server.emit('GBP/USD_otc', 3);
    server.emitRaw('GBP/USD_otc', made.slice(1)); // seq 2 and 3 again
    server.emit('GBP/USD_otc', 1);
    await until(() => c.stats('GBP/USD_otc').seq === 4, 'tick 4');
    expect(r.seqs()).toEqual([1, 2, 3, 4]);
  });

  test('a seq gap is filled from GET /api/ticks, in order, before later ticks', async () => {
    const server = await fake();
    const { c, logs } = client(server);
    const r = recorder();
    c.watch('USD/JPY_otc', r.watcher());
    await until(() => r.snapshots().length === 1, 'the snapshot');
    server.emit('USD/JPY_otc', 10, [4, 5, 6]); // 4..6 never sent over the socket
    server.emit('USD/JPY_otc', 2);
    await until(() => c.stats('USD/JPY_otc').seq === 12, 'the backfill');
    expect(r.seqs()).toEqual(range(1, 12));
    expect(server.subscribes).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  test('a hole the backfill cannot fill: stepped over at once, then a fresh snapshot, and why is logged', async () => {
    const server = await fake();
    const { c, logs } = client(server, { maxBackfill: 5 });
    const r = recorder();
    c.watch('AUD/CAD_otc', r.watcher());
    await until(() => r.snapshots().length === 1, 'the snapshot');
    server.emit('AUD/CAD_otc', 30, range(2, 20)); // 19 missing, only 5 fetched
    await until(() => c.stats('AUD/CAD_otc').seq === 30, 'the ticks after the hole');
    // The watchers are told where the hole was, with the ticks after it: from the last tick
    // taken before it (seq 1) to the newest handed over (seq 30); charts re-read those bars.
    const gapAt = r.items().findIndex((i) => i.kind === 'gap');
    expect(r.items()[gapAt]).toEqual({ kind: 'gap', fromMs: 1_700_000_000_000 + 100, toMs: 1_700_000_000_000 + 30 * 100 });
    expect(r.items()[gapAt + 1]).toMatchObject({ kind: 'ticks', ticks: expect.arrayContaining([expect.objectContaining({ seq: 30 })]) });
    await until(() => server.subscribes.length === 2, 'a second subscribe');
    await until(() => r.snapshots().length === 2, 'the fresh snapshot');
    expect(r.snapshots()[1]).toMatchObject({ resync: true, ack: { seq: 30 } });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/AUD\/CAD_otc: \d+ ticks after seq \d+ could not be backfilled; fresh snapshot in \d+ ms/);
  });

  test('a mismatch that does not go away: resubscribes back off to a cap, each logged', async () => {
    const server = await fake();
    const { c, logs } = client(server, { maxBackfill: 1, resyncBackoffMs: { base: 40, cap: 320 } });
    const r = recorder();
    c.watch('EUR/JPY_otc', r.watcher());
    await until(() => r.snapshots().length === 1, 'the snapshot');
    // Every batch arrives with a hole the recent list cannot fill, for 2 s.
    const started = Date.now();
    const timer = setInterval(() => server.emit('EUR/JPY_otc', 4, [(server.ticks.get('EUR/JPY_otc')?.at(-1)?.seq ?? 0) + 1]), 20);
    await new Promise((res) => setTimeout(res, 2000));
    clearInterval(timer);
    const elapsed = Date.now() - started;
    const resubscribes = server.subscribes.length - 1;
    // Without backoff that is one per batch (about 100); the delays double from 20-40 ms to at most 320 ms.
    expect(resubscribes).toBeGreaterThanOrEqual(3);
    expect(resubscribes).toBeLessThanOrEqual(Math.ceil(elapsed / 160) + 4);
    expect(logs.length).toBe(resubscribes + (logs.length > resubscribes ? 1 : 0));
    const delays = logs.map((l) => Number(/in (\d+) ms/.exec(l)![1]));
    expect(Math.max(...delays)).toBeLessThanOrEqual(320);
    expect(delays.slice(-3).every((d) => d >= 160)).toBe(true);
    // Live all along: the latest tick is always taken.
    expect(c.stats('EUR/JPY_otc').seq).toBeGreaterThan(100);
  });

  test('latest wins: 30 fast switches send a few subscribes, and the last choice goes live', async () => {
    const server = await fake();
    server.ackDelayMs = 60; // each snapshot takes the server a while
    const pairs = ['A/1', 'B/2', 'C/3', 'D/4', 'E/5', 'F/6'];
    for (const p of pairs) server.emit(p, 3);
    const { c } = client(server);
    const r = recorder();
    let unwatch: (() => void) | null = null;
    const started = Date.now();
    for (let i = 0; i < 30; i++) {
      unwatch?.();
      unwatch = c.watch(pairs[i % pairs.length]!, r.watcher({ timeframe: '1M', indicators: [] }));
      await new Promise((res) => setTimeout(res, 15));
    }
    const switching = Date.now() - started;
    const last = pairs[29 % pairs.length]!;
    await until(() => r.snapshots().some((s) => s.ack.pair === last), 'the last choice live');
    // The first of the burst goes at once; the rest wait until the clicks have been still for
    // 150 ms, and then only the last choice is asked for (a stalled test timer may split the burst).
    expect(server.subscribes.length).toBeGreaterThanOrEqual(2);
    expect(server.subscribes.length).toBeLessThanOrEqual(2 + Math.floor(switching / 1000));
    expect(server.subscribes.at(-1)).toEqual({ pair: last, timeframe: '1M' });
    expect(c.subscribesSent).toBe(server.subscribes.length);
    server.emit(last, 2);
    await until(() => c.stats(last).seq === 5, 'live ticks of the last choice');
  });

  test('after the server goes away and comes back: capped backoff, subscribe again, resume in order', async () => {
    const server = await fake();
    const { c } = client(server, { backoffMs: { base: 40, cap: 200 } });
    const r = recorder();
    const states: string[] = [];
    c.subscribeConnection(() => states.push(c.connection.state));
    c.watch('EUR/USD_otc', r.watcher({ timeframe: '5S', indicators: [] }));
    await until(() => r.snapshots().length === 1, 'the snapshot');
    server.emit('EUR/USD_otc', 5);
    await until(() => c.stats('EUR/USD_otc').seq === 5, 'ticks before the restart');

    await server.stop();
    await until(() => c.connection.state === 'reconnecting', 'reconnecting');
    // Attempts go on while the server is away, each waiting at most the cap.
    await until(() => c.connection.attempt >= 3, 'three attempts', 3000);
    expect(c.connection.retryAt === null || c.connection.retryAt - Date.now() <= 200).toBe(true);

    const again = new FakeQuflx();
    again.port = server.port;
    again.ticks.set('EUR/USD_otc', [...server.ticks.get('EUR/USD_otc')!]);
    await again.start();
    servers.push(again);
    again.ticks.get('EUR/USD_otc')!.push(
      ...[6, 7].map((seq) => ({ pair: 'EUR/USD_otc', price: 2, timestamp: (1_700_000_000_000 + seq * 100) as SeqTick['timestamp'], seq })),
    ); // made while the client was away: it gets them from the snapshot
    await until(() => c.connection.state === 'live', 'live again', 5000);
    await until(() => again.subscribes.length === 1, 'a subscribe after the reconnect');
    expect(again.subscribes[0]).toEqual({ pair: 'EUR/USD_otc', timeframe: '5S' });
    await until(() => c.stats('EUR/USD_otc').seq === 7, 'the new snapshot');
    again.emit('EUR/USD_otc', 2);
    await until(() => c.stats('EUR/USD_otc').seq === 9, 'ticks after the restart');
    expect(r.seqs()).toEqual(range(1, 9));
    expect(r.snapshots().map((s) => [s.resync, s.ack.seq])).toEqual([
      [false, 0],
      [true, 7],
    ]);
    expect(states).toContain('reconnecting');
    expect(states[states.length - 1]).toBe('live');
  });

  test('unwatching the last watcher unsubscribes; a quick re-watch costs one subscribe', async () => {
    const server = await fake();
    const { c } = client(server);
    const r = recorder();
    const w = r.watcher({ timeframe: '1M', indicators: [] });
    const off = c.watch('EUR/USD_otc', w);
    await until(() => r.snapshots().length === 1, 'the snapshot');
    off();
    const w2 = { ...w, demand: { timeframe: '5M', indicators: [] as [] } };
    const off2 = c.watch('EUR/USD_otc', w2);
    await until(() => server.subscribes.length === 2, 'the second subscribe');
    await new Promise((res) => setTimeout(res, 100));
    expect(server.subscribes.map((s) => s.timeframe)).toEqual(['1M', '5M']);
    off2();
    await new Promise((res) => setTimeout(res, 50));
    expect(c.stats('EUR/USD_otc').seq).toBeNull();
  });

  test('a pair answered under its canonical name: its ticks reach the chart, the page is told, and moving to that name keeps the subscription', async () => {
    const server = await fake();
    server.canonical.set('EURUSD_otc', 'EUR/USD_otc');
    server.emit('EUR/USD_otc', 3);
    const { c } = client(server);
    const renames: [string, string][] = [];
    c.onRenamed((asked, canonical) => renames.push([asked, canonical]));
    const r = recorder();
    const off = c.watch('EURUSD_otc', r.watcher({ timeframe: '1M', indicators: [] }));
    await until(() => r.snapshots().length === 1, 'the snapshot');
    expect(r.snapshots()[0]!.ack.pair).toBe('EUR/USD_otc');
    expect(renames).toEqual([['EURUSD_otc', 'EUR/USD_otc']]);
    // Every tick event carries the canonical name; the stream watched as EURUSD_otc takes them.
    server.emit('EUR/USD_otc', 2);
    await until(() => r.seqs().length === 2, 'ticks 4 and 5');
    expect(r.seqs()).toEqual([4, 5]);
    expect(c.stats('EURUSD_otc').seq).toBe(5);
    expect(c.stats('EUR/USD_otc').seq).toBe(5);
    // The page follows the canonical name: a new watch under it, the old one goes. The server
    // keeps one subscription per instrument, so the old spelling is not unsubscribed.
    const r2 = recorder();
    c.watch('EUR/USD_otc', r2.watcher({ timeframe: '1M', indicators: [] }));
    off();
    await until(() => r2.snapshots().length === 1, 'the snapshot under the canonical name');
    await new Promise((res) => setTimeout(res, 50));
    expect(server.unsubscribes).toEqual([]);
    server.emit('EUR/USD_otc', 1);
    await until(() => r2.seqs().includes(6), 'tick 6 under the canonical name');
  });

  test('a subscribe refused by the rate limit is asked again after retryAfterMs, not at once, and not shown as an error', async () => {
    const server = await fake();
    server.emit('GBP/USD_otc', 2);
    server.rateLimited = 1;
    const { c, logs } = client(server);
    const r = recorder();
    const started = Date.now();
    c.watch('GBP/USD_otc', r.watcher({ timeframe: '1M', indicators: [] }));
    await until(() => r.snapshots().length === 1, 'the snapshot after the wait');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(server.subscribes).toHaveLength(2);
    expect(r.items().some((i) => i.kind === 'error')).toBe(false);
    expect(logs).toEqual([expect.stringMatching(/GBP\/USD_otc: too many subscribes .*; subscribing again in 300 ms/)]);
  });

  test('tick-to-paint: taken once the frame after the hand-over is painted, from each tick timestamp', async () => {
    const server = await fake();
    let wall = 1_700_000_000_000;
    const { c, frame, frames } = client(server, { now: () => wall });
    c.notePainted([{ timestamp: wall - 4 }]);
    c.notePainted([{ timestamp: wall - 2 }]);
    expect(frames).toHaveLength(1); // one frame asked for, however many hand-overs
    expect(c.latencyP50()).toBeNull();
    wall += 10; // the frame comes 10 ms later
    frame();
    expect(c.latency.quantile(0, wall)).toBe(12);
    expect(c.latency.quantile(1, wall)).toBe(14);
  });
});
