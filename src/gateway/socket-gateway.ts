import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { CandleService } from '../candles/candle-service.js';
import { indicatorKey } from './candle-feed.js';
import { toSymbol } from '../core/pair.js';
import { parseSubscribeRequest, parseUnsubscribeRequest, subscribeCost, type SubscribeSpec } from '../core/subscribe-request.js';
import type { SeqTick } from '../core/tick.js';
import type { Timeframe } from '../core/timeframe.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import type { PairRegistry } from '../redis/pair-registry.js';
import { TickSubscriber } from '../redis/tick-subscriber.js';
import type { CandleStore } from '../redis/candle-store.js';
import type { TickStore } from '../redis/tick-store.js';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/events.js';
import { CandleFeed, candleRoom } from './candle-feed.js';
import { CLIENT_BUFFER_LIMITS, dropConnection, watchClientBuffer, type BufferedStats, type ClientBufferLimits } from './client-backpressure.js';
import { SeqTracker } from './seq-tracker.js';
import { rateLimited, SUBSCRIBE_LIMIT, TokenBucket, type RateLimit } from './subscribe-rate-limit.js';
import { pairRoom, TickFanout } from './tick-fanout.js';

/** After a subscribe failed on the server's side (Redis or the database), the client asks again this much later. */
export const SUBSCRIBE_RETRY_MS = 2000;

/** One instrument a socket follows. */
interface Subscription {
  /** Live candles and the indicators riding along; null: ticks only. */
  candles: { tf: Timeframe; indicators: string[] } | null;
}

interface SocketData {
  /** Followed instruments by symbol: every spelling of a pair is one subscription. */
  subs: Map<string, Subscription>;
  /** A socket's subscribe/unsubscribe requests run one after another, in order. */
  queue: Promise<unknown>;
  subscribes: TokenBucket;
}

type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface GatewayOptions {
  /** Ticks in the subscribe snapshot. */
  snapshotSize: number;
  /** Candles in the subscribe snapshot (CANDLE_CACHE_SIZE). */
  candleCacheSize: number;
  maxPairsPerSocket?: number;
  /** Ticks per pair kept after fan-out, to close the race between snapshot and room join. */
  recentSize?: number;
  /** Subscribes per socket (token bucket). */
  subscribeLimit?: RateLimit;
  /** What the server buffers for one client before dropping it. */
  clientBuffer?: ClientBufferLimits;
}

export interface GatewayDeps {
  httpServer: HttpServer;
  store: TickStore;
  candleStore: CandleStore;
  candleService: CandleService;
  /** A Redis connection of the gateway's own, for pub/sub. */
  subscriberClient: RedisClient;
  keys: RedisKeys;
  registry: PairRegistry;
  metrics: Metrics;
  log: Logger;
  options: GatewayOptions;
  /** Socket.IO server options laid over QuFLX's own (CORS, allowRequest, ...). */
  serverOptions?: Partial<ServerOptions>;
}

/**
 * The gateway's own Socket.IO server options; `extra` (the exposure policy: CORS, the handshake
 * check, see http/exposure.ts) goes over them. With no extra, only same-origin pages connect.
 */
export function gatewayServerOptions(extra: Partial<ServerOptions> = {}): Partial<ServerOptions> {
  return { serveClient: false, ...extra };
}

/**
 * Socket.IO side of the live path. Ticks come from Redis pub/sub (so every process sharing the
 * Redis delivers every tick), pass the per-instrument seq tracker (repeats dropped, gaps
 * backfilled) and go out to the instrument's room, grouped per event-loop turn, in seq order. A
 * subscriber gets a snapshot with the current seq and then exactly the ticks after it.
 * Instruments are keyed by symbol and named by the pair registry: any spelling of a pair
 * subscribes to the one instrument, and everything sent carries its canonical name.
 */
export class SocketGateway {
  readonly io: GatewayServer;
  private readonly subscriber: TickSubscriber;
  private readonly seq: SeqTracker;
  private readonly fanout: TickFanout;
  private readonly candles: CandleFeed;
  private readonly maxPairs: number;
  private closed = false;

  constructor(private readonly deps: GatewayDeps) {
    const { options, log } = deps;
    this.maxPairs = options.maxPairsPerSocket ?? 50;
    this.io = new Server(deps.httpServer, gatewayServerOptions(deps.serverOptions));
    this.candles = new CandleFeed((to, event) => this.io.to(to).emit('candle', event), deps.candleStore, deps.candleService, options.candleCacheSize, log);
    this.fanout = new TickFanout(this.io as unknown as Server, (sym, ticks) => this.candles.onTicks(sym, ticks), options.recentSize ?? 1000);
    this.seq = new SeqTracker({
      snapshot: (sym) => deps.store.snapshot(sym, options.snapshotSize),
      deliver: (sym, tick) => this.fanout.enqueue(sym, tick),
      log,
    });
    this.subscriber = new TickSubscriber(deps.subscriberClient, deps.keys, (sym, tick) => this.seq.onTick(sym, tick), log);
    this.io.on('connection', (socket) => this.onConnection(socket));
    // After the subscriber link comes back, fetch whatever was published while it was down.
    deps.subscriberClient.on('ready', () => {
      for (const sym of this.subscriber.symbols) void this.seq.resync(sym);
    });
  }

  private onConnection(socket: GatewaySocket): void {
    const { metrics, log, options } = this.deps;
    socket.data.subs = new Map();
    socket.data.queue = Promise.resolve();
    socket.data.subscribes = new TokenBucket(options.subscribeLimit ?? SUBSCRIBE_LIMIT);
    watchClientBuffer(socket, options.clientBuffer ?? CLIENT_BUFFER_LIMITS, (stats) => this.dropSlow(socket, stats));
    const inOrder = <T>(work: () => Promise<T>): Promise<T> => {
      const next = socket.data.queue.then(work, work);
      socket.data.queue = next.catch(() => undefined);
      return next;
    };
    metrics.socketClients.inc();
    socket.on('subscribe', (request, ack) => {
      if (typeof ack !== 'function') return; // nobody to answer; the contract requires an ack
      const parsed = parseSubscribeRequest(request);
      // Answered at once when over the limit: a flood never queues up work.
      const waitMs = socket.data.subscribes.take(subscribeCost(parsed));
      if (waitMs > 0) {
        metrics.subscribesLimited.inc();
        return ack(rateLimited(waitMs));
      }
      if (!parsed.ok) return ack(parsed);
      inOrder(() => this.subscribe(socket, parsed.value)).then(
        ({ reply, missed, catchUp }) => {
          ack(reply);
          // Right after the ack, before any later fan-out, so the socket sees seqs in order.
          if (missed && missed.length > 0) socket.emit('ticks', missed);
          catchUp?.();
        },
        (err: Error) => {
          // Redis or the database failed the reads: the client asks again (a refusal would leave
          // its chart empty until a reload).
          log.warn({ err: err.message }, 'subscribe failed; the client is told to ask again');
          ack({ ok: false, error: `subscribe failed: ${err.message}`, retryAfterMs: SUBSCRIBE_RETRY_MS });
        },
      );
    });
    socket.on('unsubscribe', (request, ack) => {
      const parsed = parseUnsubscribeRequest(request);
      if (!parsed.ok) {
        if (typeof ack === 'function') ack(parsed);
        return;
      }
      void inOrder(() => this.leave(socket, toSymbol(parsed.value.pair))).then(() => typeof ack === 'function' && ack({ ok: true }));
    });
    socket.on('disconnect', () => {
      metrics.socketClients.dec();
      for (const sym of [...socket.data.subs.keys()]) void this.leave(socket, sym);
    });
  }

  private dropSlow(socket: GatewaySocket, stats: BufferedStats): void {
    if (!socket.connected) return;
    this.deps.metrics.socketSlowDisconnects.inc({ transport: stats.transport });
    this.deps.log.warn(
      { socket: socket.id, ...stats, limits: this.deps.options.clientBuffer ?? CLIENT_BUFFER_LIMITS },
      'socket client too far behind (not reading); disconnected, it reconnects and backfills by seq',
    );
    dropConnection(socket);
  }

  private async subscribe(socket: GatewaySocket, spec: SubscribeSpec): Promise<{ reply: SubscribeAck; missed?: SeqTick[]; catchUp?: () => void }> {
    const fail = (error: string) => ({ reply: { ok: false as const, error } });
    const { store, registry, options } = this.deps;
    const sym = toSymbol(spec.pair);
    const subs = socket.data.subs;
    if (!subs.has(sym) && subs.size >= this.maxPairs) return fail(`at most ${this.maxPairs} pairs per connection`);
    // Null: nobody ever sent a tick of it. It is followed all the same (its ticks may start any
    // moment), but nothing is read or cached for it.
    const canonical = await registry.resolve(spec.pair);
    if (subs.has(sym)) {
      // A repeated subscribe starts over from a fresh snapshot: out of the rooms until it is taken.
      void socket.leave(pairRoom(sym));
      this.fanout.leave(socket.id, sym);
      this.leaveCandles(socket, sym);
    } else {
      await this.subscriber.add(sym);
      subs.set(sym, { candles: null });
    }
    let snapshot;
    let live: Awaited<ReturnType<CandleFeed['add']>> | null = null;
    try {
      // Candles first (a cache miss reads the database); the tick snapshot last, so it is fresh.
      if (spec.timeframe) {
        live = await this.candles.add(sym, canonical, spec.timeframe, spec.indicators);
        subs.set(sym, { candles: { tf: spec.timeframe, indicators: spec.indicators.map(indicatorKey) } });
      }
      snapshot = await store.snapshot(sym, options.snapshotSize);
    } catch (err) {
      await this.leave(socket, sym);
      throw err;
    }
    if (!socket.connected) {
      await this.leave(socket, sym);
      return fail('disconnected');
    }
    // Ticks after the snapshot that were already fanned out before this join go to this socket alone.
    const missed = this.fanout.join(socket.id, sym, snapshot.seq);
    this.seq.follow(sym, snapshot.seq);
    void socket.join(pairRoom(sym));
    if (spec.timeframe) void socket.join(candleRoom(sym, spec.timeframe));
    const pair = canonical ?? snapshot.ticks.at(-1)?.pair ?? spec.pair;
    const reply: SubscribeAck = { ok: true, pair, ticks: snapshot.ticks, candles: live?.candles ?? [], seq: snapshot.seq };
    if (spec.timeframe) reply.timeframe = spec.timeframe;
    if (spec.indicators.length > 0) reply.indicators = live?.indicators;
    // The candles were read before the socket joined their room: the buckets that took ticks in
    // between go to it once the ack is out (a bar that closed meanwhile is not left short).
    const tf = spec.timeframe;
    const catchUp = tf && live ? () => this.candles.catchUp(sym, tf, live.candles, [...snapshot.ticks, ...missed], (e) => socket.emit('candle', e)) : undefined;
    return { reply, missed, catchUp };
  }

  private leaveCandles(socket: GatewaySocket, sym: string): void {
    const sub = socket.data.subs.get(sym);
    if (!sub?.candles) return;
    void socket.leave(candleRoom(sym, sub.candles.tf));
    this.candles.remove(sym, sub.candles.tf, sub.candles.indicators);
    sub.candles = null;
  }

  private async leave(socket: GatewaySocket, sym: string): Promise<void> {
    if (!socket.data.subs.has(sym)) return;
    this.leaveCandles(socket, sym);
    socket.data.subs.delete(sym);
    void socket.leave(pairRoom(sym));
    this.fanout.leave(socket.id, sym);
    await this.subscriber.remove(sym);
    if (!this.subscriber.has(sym)) {
      this.fanout.forget(sym);
      this.seq.forget(sym);
    }
  }

  /** Idempotent: disconnects every client and stops following Redis. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.seq.close();
    this.fanout.close();
    for (const sym of this.subscriber.symbols) await this.subscriber.remove(sym);
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}
