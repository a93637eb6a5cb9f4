// @vitest-environment node
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, test } from 'vitest';
import { backoffDelay, StreamClient, type ClientSocket, type StreamItem } from './stream-client.js';
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
      socket.on('subscribe', (req, ack) => {
        this.subscribes.push(req);
        const list = this.ticks.get(req.pair) ?? [];
        void socket.join(req.pair);
        const reply: SubscribeAck = { ok: true, pair: req.pair, ticks: list.slice(-100), candles: this.candles(req.pair), seq: list[list.length - 1]?.seq ?? 0 };
        if (req.timeframe) reply.timeframe = req.timeframe;
        ack(reply);
      });
      socket.on('unsubscribe', (req) => void socket.leave(req.pair));
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

/** A StreamClient whose frames run when the test says (no requestAnimationFrame in Node). */
function client(server: FakeQuflx, options: { backoffMs?: { base: number; cap: number } } = {}) {
  const frames: ((now: number) => void)[] = [];
  const c = new StreamClient({
    url: server.url,
    createSocket: (url) => io(url!, { transports: ['websocket'], reconnection: false, autoConnect: false, forceNew: true }) as ClientSocket,
    fetch: (input, init) => fetch(`${server.url}${String(input)}`, init),
    scheduleFrame: (cb) => frames.push(cb),
    backoffMs: options.backoffMs ?? { base: 50, cap: 400 },
  });
  clients.push(c);
  const frame = () => {
    for (const cb of frames.splice(0)) cb(performance.now());
  };
  return { c, frame, frames };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recorder() {
  const frames: StreamItem[][] = [];
  return {
    frames,
    watcher: (demand: { timeframe: string; indicators: [] } | null = null) => ({ demand, onFrame: (items: readonly StreamItem[]) => void frames.push([...items]) }),
    items: () => frames.flat(),
    seqs: () => frames.flat().flatMap((i) => (i.kind === 'ticks' ? i.ticks.map((t) => t.seq) : [])),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('StreamClient against a real Socket.IO server', () => {
  test('a snapshot, then every tick once in seq order, handed over once per frame', async () => {
    const server = await new FakeQuflx().start();
    servers.push(server);
    server.emit('EUR/USD_otc', 5); // before the subscribe: in the snapshot
    const { c, frame, frames } = client(server);
    const r = recorder();
    c.watch('EUR/USD_otc', r.watcher({ timeframe: '1M', indicators: [] }));
    await until(() => frames.length > 0, 'the snapshot');
    expect(server.subscribes).toEqual([{ pair: 'EUR/USD_otc', timeframe: '1M' }]);
    server.emit('EUR/USD_otc', 3);
    server.emit('EUR/USD_otc', 4);
    await until(() => c.stats('EUR/USD_otc').seq === 12, 'ticks 6..12');
    expect(r.frames).toEqual([]); // nothing is handed over outside a frame
    frame();
    expect(r.frames).toHaveLength(1); // one frame: the snapshot and both batches, in order
    const [snapshot, ...rest] = r.frames[0]!;
    expect(snapshot).toMatchObject({ kind: 'snapshot', resync: false, ack: { seq: 5, timeframe: '1M' } });
    expect(rest.map((i) => i.kind)).toEqual(['ticks', 'ticks']);
    expect(r.seqs()).toEqual(range(6, 12));
    expect(c.stats('EUR/USD_otc')).toMatchObject({ price: 1.00012, seq: 12 });
  });

  test('repeats are dropped', async () => {
    const server = await new FakeQuflx().start();
    servers.push(server);
    const { c, frame, frames } = client(server);
    const r = recorder();
    c.watch('GBP/USD_otc', r.watcher());
    await until(() => frames.length > 0, 'the snapshot');
    const made = server.emit('GBP/USD_otc', 3);
    server.emitRaw('GBP/USD_otc', made.slice(1)); // seq 2 and 3 again
    server.emit('GBP/USD_otc', 1);
    await until(() => c.stats('GBP/USD_otc').seq === 4, 'tick 4');
    frame();
    expect(r.seqs()).toEqual([1, 2, 3, 4]);
  });

  test('a seq gap is filled from GET /api/ticks, in order, before later ticks', async () => {
    const server = await new FakeQuflx().start();
    servers.push(server);
    const { c, frame, frames } = client(server);
    const r = recorder();
    c.watch('USD/JPY_otc', r.watcher());
    await until(() => frames.length > 0, 'the snapshot');
    server.emit('USD/JPY_otc', 10, [4, 5, 6]); // 4..6 never sent over the socket
    server.emit('USD/JPY_otc', 2);
    await until(() => c.stats('USD/JPY_otc').seq === 12, 'the backfill');
    frame();
    expect(r.seqs()).toEqual(range(1, 12));
  });

  test('a gap larger than the backfill window means a fresh snapshot', async () => {
    const server = await new FakeQuflx().start();
    servers.push(server);
    const frames: ((now: number) => void)[] = [];
    const c = new StreamClient({
      url: server.url,
      createSocket: (url) => io(url!, { transports: ['websocket'], reconnection: false, autoConnect: false, forceNew: true }) as ClientSocket,
      fetch: (input, init) => fetch(`${server.url}${String(input)}`, init),
      scheduleFrame: (cb) => frames.push(cb),
      maxBackfill: 5,
    });
    clients.push(c);
    const r = recorder();
    c.watch('AUD/CAD_otc', r.watcher());
    await until(() => frames.length > 0, 'the snapshot');
    server.emit('AUD/CAD_otc', 30, range(2, 20)); // 19 missing, only 5 fetched
    await until(() => server.subscribes.length === 2, 'a second subscribe');
    await until(() => c.stats('AUD/CAD_otc').seq === 30, 'the resync');
    for (const cb of frames.splice(0)) cb(0);
    const snapshots = r.items().filter((i) => i.kind === 'snapshot');
    expect(snapshots).toHaveLength(2);
    expect(snapshots[1]).toMatchObject({ resync: true, ack: { seq: 30 } });
  });

  test('after the server goes away and comes back: capped backoff, subscribe again, resume in order', async () => {
    const server = await new FakeQuflx().start();
    servers.push(server);
    const { c, frame, frames } = client(server, { backoffMs: { base: 40, cap: 200 } });
    const r = recorder();
    const states: string[] = [];
    c.subscribeConnection(() => states.push(c.connection.state));
    c.watch('EUR/USD_otc', r.watcher({ timeframe: '5S', indicators: [] }));
    await until(() => frames.length > 0, 'the snapshot');
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
    frame();
    expect(r.seqs()).toEqual(range(1, 9));
    const snapshots = r.items().filter((i): i is Extract<StreamItem, { kind: 'snapshot' }> => i.kind === 'snapshot');
    expect(snapshots.map((s) => [s.resync, s.ack.seq])).toEqual([
      [false, 0],
      [true, 7],
    ]);
    expect(states).toContain('reconnecting');
    expect(states[states.length - 1]).toBe('live');
  });

  test('unwatching the last watcher unsubscribes; a quick re-watch costs one subscribe', async () => {
    const server = await new FakeQuflx().start();
    servers.push(server);
    const { c, frames } = client(server);
    const r = recorder();
    const w = r.watcher({ timeframe: '1M', indicators: [] });
    const off = c.watch('EUR/USD_otc', w);
    await until(() => frames.length > 0, 'the snapshot');
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
});

describe('backoffDelay', () => {
  test('doubles from the base, never above the cap, with jitter down to half', () => {
    expect([0, 1, 2, 3, 4, 5, 10, 50].map((a) => backoffDelay(a, 250, 5000, () => 1))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(backoffDelay(10, 250, 5000, () => 0)).toBe(2500);
  });
});
