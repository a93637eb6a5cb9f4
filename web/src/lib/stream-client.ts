import { io, type Socket } from 'socket.io-client';
import { socketAuth } from './access-token.js';
import { api, type Fetch } from './api.js';
import { LatencyMeter, RateMeter } from './latency.js';
import type { CandleEvent, ClientToServerEvents, IndicatorRequest, SeqTick, ServerToClientEvents, SubscribeAck, SubscribeOk, SubscribeRequest } from './types.js';

/**
 * The browser's one link to QuFLX's live stream. High-frequency data never goes through React:
 * ticks and candle events land in per-pair queues here, and one requestAnimationFrame callback
 * hands each pair's queue, in arrival order, to its watchers (the charts), which apply it with
 * `series.update()`. Each pair's ticks are checked by seq: a repeat is dropped, a gap is filled
 * from GET /api/ticks (or, if too large, by a fresh snapshot). When the link drops, it reconnects
 * with capped, jittered backoff and subscribes again; the new snapshot lets the charts resume
 * without a gap or a doubled bar.
 */

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConnectionInfo {
  state: ConnectionState;
  /** Failed attempts since the link was last up. */
  attempt: number;
  /** When the next attempt is due (epoch ms), while waiting. */
  retryAt: number | null;
  /** Why the link is down, for the status bar. */
  reason: string | null;
}

/** Live candles (and the indicators riding along) a watcher wants for its pair. */
export interface Demand {
  timeframe: string;
  indicators: IndicatorRequest[];
}

export type StreamItem =
  | { kind: 'ticks'; ticks: SeqTick[] }
  | { kind: 'candle'; event: CandleEvent }
  /** A (fresh) subscribe snapshot; `resync` after a reconnect, a gap too large to fill, or an overflow. */
  | { kind: 'snapshot'; ack: SubscribeOk; resync: boolean }
  | { kind: 'error'; error: string };

export interface Watcher {
  /** Live candles wanted for the pair; null: ticks only. */
  readonly demand: Demand | null;
  /** Once per animation frame: what arrived for the pair since the last frame, in order. */
  onFrame(items: readonly StreamItem[], now: number): void;
}

export interface PairStats {
  price: number | null;
  /** The price before the latest, for an up/down flash. */
  prevPrice: number | null;
  timestamp: number | null;
  seq: number | null;
  /** Ticks per second over the last few seconds. */
  rate: number;
}

export type FrameScheduler = (callback: (now: number) => void) => void;

export interface StreamClientOptions {
  /** Socket.IO URL; default: the page's origin. */
  url?: string;
  /** Makes the socket (tests pass their own options); it must not reconnect by itself. */
  createSocket?: (url: string | undefined) => ClientSocket;
  fetch?: Fetch;
  /** requestAnimationFrame, or a stand-in in tests. */
  scheduleFrame?: FrameScheduler;
  now?: () => number;
  /** Reconnect backoff: first delay and cap, in ms. */
  backoffMs?: { base: number; cap: number };
  /** Ticks and candle events kept per pair while no frame runs (a hidden tab); beyond it the pair resyncs. */
  maxQueuedTicks?: number;
  /** Ticks asked for in one gap backfill (at most the server's TICK_BUFFER_SIZE). */
  maxBackfill?: number;
  subscribeTimeoutMs?: number;
}

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

interface PairStream {
  pair: string;
  watchers: Set<Watcher>;
  /** The subscribe request in force or in flight (JSON), null before the first. */
  requested: string | null;
  /** Bumped per subscribe; an ack of an older one is ignored. */
  generation: number;
  /** A snapshot is in: ticks are checked against lastSeq. */
  synced: boolean;
  lastSeq: number | null;
  queue: StreamItem[];
  queuedTicks: number;
  /** Ticks held while a gap is backfilled. */
  held: SeqTick[] | null;
  price: number | null;
  prevPrice: number | null;
  timestamp: number | null;
  rate: RateMeter;
  retryTimer: ReturnType<typeof setTimeout> | null;
}

/** Capped exponential backoff with jitter: base * 2^attempt, at most cap, times 0.5 to 1. */
export function backoffDelay(attempt: number, base: number, cap: number, random: () => number = Math.random): number {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

export class StreamClient {
  readonly latency = new LatencyMeter(5000);
  private readonly socket: ClientSocket;
  private readonly streams = new Map<string, PairStream>();
  private readonly connectionListeners = new Set<() => void>();
  private readonly frameListeners = new Set<(now: number) => void>();
  private readonly fetch: Fetch | undefined;
  private readonly scheduleFrame: FrameScheduler;
  private readonly now: () => number;
  private readonly backoff: { base: number; cap: number };
  private readonly maxQueuedTicks: number;
  private readonly maxBackfill: number;
  private readonly subscribeTimeoutMs: number;
  private frameScheduled = false;
  /** Timestamps of ticks a chart drew last frame: their latency is taken at the next frame, once drawn. */
  private painted: number[] = [];
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private everConnected = false;
  private info: ConnectionInfo = { state: 'connecting', attempt: 0, retryAt: null, reason: null };
  private readonly totalRate = new RateMeter(5);

  constructor(options: StreamClientOptions = {}) {
    this.fetch = options.fetch;
    this.scheduleFrame = options.scheduleFrame ?? ((cb) => requestAnimationFrame(() => cb(performance.now())));
    this.now = options.now ?? (() => Date.now());
    this.backoff = options.backoffMs ?? { base: 250, cap: 5000 };
    this.maxQueuedTicks = options.maxQueuedTicks ?? 20_000;
    this.maxBackfill = options.maxBackfill ?? 1000;
    this.subscribeTimeoutMs = options.subscribeTimeoutMs ?? 10_000;
    const create =
      options.createSocket ??
      ((url: string | undefined) =>
        (url ? io(url, SOCKET_OPTIONS) : io(SOCKET_OPTIONS)) as ClientSocket);
    this.socket = create(options.url);
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('disconnect', (reason) => this.onDisconnect(reason));
    this.socket.on('connect_error', (err) => this.onConnectError(err));
    this.socket.on('ticks', (ticks) => this.onTicks(ticks));
    this.socket.on('candle', (event) => this.onCandle(event));
    if (!this.socket.connected) this.socket.connect();
  }

  // ---- connection ---------------------------------------------------------------------------

  get connection(): ConnectionInfo {
    return this.info;
  }

  /** For useSyncExternalStore: called whenever `connection` changes. */
  subscribeConnection = (listener: () => void): (() => void) => {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  };

  private setInfo(info: Partial<ConnectionInfo>): void {
    this.info = { ...this.info, ...info };
    for (const l of this.connectionListeners) l();
  }

  private onConnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.everConnected = true;
    this.setInfo({ state: 'live', attempt: 0, retryAt: null, reason: null });
    for (const s of this.streams.values()) {
      s.requested = null; // the server forgot us: subscribe again
      this.sync(s);
    }
  }

  private onDisconnect(reason: string): void {
    for (const s of this.streams.values()) {
      s.requested = null;
      if (s.retryTimer) clearTimeout(s.retryTimer);
      s.retryTimer = null;
    }
    if (this.closed || reason === 'io client disconnect') {
      this.setInfo({ state: 'offline', retryAt: null, reason: 'closed' });
      return;
    }
    this.scheduleReconnect(describeReason(reason));
  }

  private onConnectError(err: Error): void {
    if (this.closed) return;
    this.scheduleReconnect(err.message === 'websocket error' || /xhr|poll|websocket/i.test(err.message) ? 'server unreachable' : err.message);
  }

  /** The socket does not reconnect by itself: this does, with capped backoff, for every reason. */
  private scheduleReconnect(reason: string): void {
    if (this.reconnectTimer || this.closed) return;
    const attempt = this.info.attempt;
    const delay = backoffDelay(attempt, this.backoff.base, this.backoff.cap);
    this.setInfo({
      state: this.everConnected ? 'reconnecting' : attempt === 0 ? 'connecting' : 'offline',
      attempt: attempt + 1,
      retryAt: this.now() + delay,
      reason,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed || this.socket.connected) return;
      this.setInfo({ retryAt: null });
      this.socket.connect();
    }, delay);
  }

  /** Connects again now (the "retry" button), skipping the backoff wait. */
  retryNow(): void {
    if (this.closed || this.socket.connected) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.setInfo({ retryAt: null });
    this.socket.connect();
  }

  // ---- watchers and subscriptions -----------------------------------------------------------

  /** Follows a pair: `watcher.onFrame` gets its items once per frame. Returns the unwatch function. */
  watch(pair: string, watcher: Watcher): () => void {
    let s = this.streams.get(pair);
    if (!s) {
      s = {
        pair,
        watchers: new Set(),
        requested: null,
        generation: 0,
        synced: false,
        lastSeq: null,
        queue: [],
        queuedTicks: 0,
        held: null,
        price: null,
        prevPrice: null,
        timestamp: null,
        rate: new RateMeter(5),
        retryTimer: null,
      };
      this.streams.set(pair, s);
    }
    s.watchers.add(watcher);
    const stream = s;
    this.sync(stream, watcher.demand !== null);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      stream.watchers.delete(watcher);
      // Decided a moment later: a chart that switches timeframe unwatches and watches again at
      // once, and should cost one subscribe, not an unsubscribe and two subscribes.
      queueMicrotask(() => {
        if (this.closed || this.streams.get(pair) !== stream) return;
        if (stream.watchers.size > 0) {
          this.sync(stream);
          return;
        }
        this.streams.delete(pair);
        if (stream.retryTimer) clearTimeout(stream.retryTimer);
        stream.generation++;
        if (this.socket.connected && stream.requested !== null) this.socket.emit('unsubscribe', { pair });
      });
    };
  }

  /** The request the pair's watchers add up to: the newest watcher with a demand decides. */
  private request(s: PairStream): SubscribeRequest {
    let demand: Demand | null = null;
    for (const w of s.watchers) if (w.demand) demand = w.demand;
    if (!demand) return { pair: s.pair };
    const req: SubscribeRequest = { pair: s.pair, timeframe: demand.timeframe };
    if (demand.indicators.length > 0) req.indicators = demand.indicators;
    return req;
  }

  /** Subscribes when what the watchers need differs from what was asked (or `force`). */
  private sync(s: PairStream, force = false): void {
    if (!this.socket.connected) return;
    const req = this.request(s);
    const key = JSON.stringify(req);
    // A new chart on a pair needs a snapshot of its own even when the request is the same.
    if (key === s.requested && !force) return;
    this.subscribe(s, req, key);
  }

  private subscribe(s: PairStream, req: SubscribeRequest, key: string): void {
    if (s.retryTimer) clearTimeout(s.retryTimer);
    s.retryTimer = null;
    s.requested = key;
    const generation = ++s.generation;
    this.socket.timeout(this.subscribeTimeoutMs).emit('subscribe', req, (err: Error | null, ack: SubscribeAck) => {
      if (generation !== s.generation || this.streams.get(s.pair) !== s) return;
      if (err || !ack) {
        // No answer in time: ask again while connected.
        s.requested = null;
        s.retryTimer = setTimeout(() => this.sync(s), 1000);
        return;
      }
      if (!ack.ok) {
        this.enqueue(s, { kind: 'error', error: ack.error });
        return;
      }
      this.onSnapshot(s, ack);
    });
  }

  private onSnapshot(s: PairStream, ack: SubscribeOk): void {
    const resync = s.synced;
    const last = s.lastSeq;
    // Ticks of the snapshot newer than what we have: missed while away (after a reconnect).
    if (last !== null && ack.seq >= last) {
      const newer = ack.ticks.filter((t) => t.seq > last);
      if (newer.length > 0) this.accept(s, newer);
    }
    const latest = ack.ticks[ack.ticks.length - 1];
    if (latest && (s.timestamp === null || latest.seq >= (s.lastSeq ?? 0))) {
      s.prevPrice = s.price;
      s.price = latest.price;
      s.timestamp = latest.timestamp;
    }
    // Seq can only go back if Redis lost its data: follow the new numbering.
    s.lastSeq = ack.seq;
    s.synced = true;
    s.held = null;
    this.enqueue(s, { kind: 'snapshot', ack, resync });
  }

  /** Fresh snapshot for a pair (a gap too large to backfill, an overflow). */
  private resync(s: PairStream): void {
    s.held = null;
    s.requested = null;
    this.sync(s);
  }

  // ---- live data ----------------------------------------------------------------------------

  private onTicks(ticks: SeqTick[]): void {
    if (!Array.isArray(ticks) || ticks.length === 0) return;
    // One event holds one pair's ticks, but do not rely on it.
    let start = 0;
    for (let i = 1; i <= ticks.length; i++) {
      if (i === ticks.length || ticks[i]!.pair !== ticks[start]!.pair) {
        this.onPairTicks(ticks[start]!.pair, start === 0 && i === ticks.length ? ticks : ticks.slice(start, i));
        start = i;
      }
    }
  }

  private onPairTicks(pair: string, ticks: SeqTick[]): void {
    const s = this.streams.get(pair);
    if (!s || !s.synced) return; // not (yet) subscribed: the snapshot will cover these
    if (s.held) {
      s.held.push(...ticks);
      return;
    }
    let from = 0;
    const last = s.lastSeq ?? 0;
    // The usual case: exactly the next seqs, in order.
    let consecutive = true;
    for (let i = 0; i < ticks.length && consecutive; i++) consecutive = ticks[i]!.seq === last + 1 + i;
    if (consecutive) {
      this.accept(s, ticks);
      return;
    }
    const fresh: SeqTick[] = [];
    let expected = last + 1;
    for (; from < ticks.length; from++) {
      const t = ticks[from]!;
      if (t.seq < expected) continue; // already have it
      if (t.seq > expected) break; // a gap
      fresh.push(t);
      expected++;
    }
    if (fresh.length > 0) this.accept(s, fresh);
    if (from < ticks.length) void this.backfill(s, ticks.slice(from));
  }

  /** Fetches the ticks between lastSeq and the first held one; a hole it cannot fill means a resync. */
  private async backfill(s: PairStream, held: SeqTick[]): Promise<void> {
    s.held = held;
    const from = (s.lastSeq ?? 0) + 1;
    const missing = held[0]!.seq - from;
    const generation = s.generation;
    let recent: SeqTick[] = [];
    try {
      recent = await api.ticks(s.pair, Math.min(this.maxBackfill, missing + 100), { fetch: this.fetch });
    } catch {
      recent = [];
    }
    if (this.streams.get(s.pair) !== s || s.generation !== generation || s.held === null) return; // resubscribed meanwhile
    const pending = s.held;
    s.held = null;
    const bySeq = new Map<number, SeqTick>();
    for (const t of [...recent, ...pending]) if (t.seq >= from) bySeq.set(t.seq, t);
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    const run: SeqTick[] = [];
    let expected = from;
    for (const seq of seqs) {
      if (seq !== expected) break;
      run.push(bySeq.get(seq)!);
      expected++;
    }
    if (run.length > 0) this.accept(s, run);
    if (expected <= (seqs[seqs.length - 1] ?? 0)) this.resync(s); // still a hole: start over
  }

  private accept(s: PairStream, ticks: SeqTick[]): void {
    const latest = ticks[ticks.length - 1]!;
    s.lastSeq = latest.seq;
    s.prevPrice = s.price;
    s.price = latest.price;
    s.timestamp = latest.timestamp;
    const now = this.now();
    s.rate.add(ticks.length, now);
    this.totalRate.add(ticks.length, now);
    if (s.queuedTicks + ticks.length > this.maxQueuedTicks) {
      // Nobody drew for a long while (a hidden tab): drop the backlog, take a fresh snapshot.
      s.queue = [];
      s.queuedTicks = 0;
      this.resync(s);
      return;
    }
    s.queuedTicks += ticks.length;
    this.enqueue(s, { kind: 'ticks', ticks });
  }

  private onCandle(event: CandleEvent): void {
    const s = this.streams.get(event?.pair);
    if (!s || !s.synced) return;
    if (++s.queuedTicks > this.maxQueuedTicks) {
      s.queue = [];
      s.queuedTicks = 0;
      this.resync(s);
      return;
    }
    this.enqueue(s, { kind: 'candle', event });
  }

  private enqueue(s: PairStream, item: StreamItem): void {
    s.queue.push(item);
    this.requestFrame();
  }

  // ---- the frame loop -----------------------------------------------------------------------

  private requestFrame(): void {
    if (this.frameScheduled || this.closed) return;
    this.frameScheduled = true;
    this.scheduleFrame((now) => this.frame(now));
  }

  private frame(now: number): void {
    this.frameScheduled = false;
    if (this.closed) return;
    // What a chart drew last frame is on screen now.
    if (this.painted.length > 0) {
      const wall = this.now();
      for (const ts of this.painted) this.latency.record(wall - ts, wall);
      this.painted = [];
    }
    for (const s of this.streams.values()) {
      if (s.queue.length === 0) continue;
      const items = s.queue;
      s.queue = [];
      s.queuedTicks = 0;
      for (const w of s.watchers) {
        try {
          w.onFrame(items, now);
        } catch (err) {
          console.error('chart update failed', err);
        }
      }
    }
    for (const l of this.frameListeners) l(now);
    if (this.painted.length > 0) this.requestFrame();
  }

  /** A chart drew these ticks in this frame; their latency is taken once the frame is on screen. */
  notePainted(ticks: readonly SeqTick[]): void {
    for (const t of ticks) this.painted.push(t.timestamp);
    if (this.painted.length > 4096) this.painted.splice(0, this.painted.length - 4096);
  }

  /** Called after every frame that had data (the pair list updates its prices here). */
  onFrame(listener: (now: number) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  // ---- stats --------------------------------------------------------------------------------

  stats(pair: string): PairStats {
    const s = this.streams.get(pair);
    if (!s) return { price: null, prevPrice: null, timestamp: null, seq: null, rate: 0 };
    return { price: s.price, prevPrice: s.prevPrice, timestamp: s.timestamp, seq: s.lastSeq, rate: s.rate.rate(this.now()) };
  }

  /** Ticks per second over every followed pair. */
  totalTickRate(): number {
    return this.totalRate.rate(this.now());
  }

  /** Median tick-to-screen latency over the last seconds, in ms. */
  latencyP50(): number | null {
    return this.latency.quantile(0.5, this.now());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const s of this.streams.values()) if (s.retryTimer) clearTimeout(s.retryTimer);
    this.streams.clear();
    this.socket.removeAllListeners();
    this.socket.disconnect();
    this.setInfo({ state: 'offline', retryAt: null, reason: 'closed' });
  }
}

const SOCKET_OPTIONS = {
  // WebSocket straight away: no long-polling round trips before the first tick.
  transports: ['websocket'],
  // Reconnection is ours (capped backoff for every reason, also a server that shut down cleanly).
  reconnection: false,
  autoConnect: false,
  timeout: 5000,
  auth: socketAuth,
};

function describeReason(reason: string): string {
  switch (reason) {
    case 'io server disconnect':
      return 'server closed the connection';
    case 'transport close':
    case 'transport error':
      return 'connection lost';
    case 'ping timeout':
      return 'server stopped answering';
    default:
      return reason;
  }
}
