import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { pairProblem } from '../core/pair.js';
import { backoffDelay } from '../lib/backoff.js';
import { parseTimeframe, TIMEFRAMES, type Timeframe } from '../core/timeframe.js';
import type { CandleService } from '../candles/candle-service.js';
import type { CandleStore } from '../redis/candle-store.js';
import { CandleFeed, candleRoom, indicatorKey } from './candle-feed.js';
import { parseIndicatorRequest, type IndicatorSpec } from '../core/indicators/catalog.js';
import { ValidationError } from '../core/errors.js';
import type { SeqTick } from '../core/tick.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { TickSubscriber } from '../redis/tick-subscriber.js';
import type { TickStore } from '../redis/tick-store.js';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/events.js';
import { MAX_INDICATORS_PER_SUBSCRIPTION as MAX_INDICATORS } from '../shared/limits.js';

/** Live candles of one pair for one socket, and the indicators that ride along. */
interface CandleSubscription {
  tf: Timeframe;
  indicators: string[];
}

interface SocketData {
  /** Subscribed pairs, each with its live candles (null: ticks only). */
  pairs: Map<string, CandleSubscription | null>;
  /** A socket's subscribe/unsubscribe requests run one after another, in order. */
  queue: Promise<unknown>;
}

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface GatewayOptions {
  /** Ticks in the subscribe snapshot. */
  snapshotSize: number;
  /** Candles in the subscribe snapshot (CANDLE_CACHE_SIZE). */
  candleCacheSize: number;
  maxPairsPerSocket?: number;
  /** Ticks per pair kept after fan-out, to close the race between snapshot and room join. */
  recentSize?: number;
}

const room = (pair: string) => `pair:${pair}`;

/**
 * Socket.IO side of the live path. Ticks come from Redis pub/sub (so every process sharing the
 * Redis delivers every tick), are grouped per pair for one event-loop turn and sent to the pair's
 * room in seq order. A subscriber gets a snapshot with the current seq and then exactly the ticks
 * after it: ones fanned out while it was joining are sent to it alone, older ones are held back.
 */
export class SocketGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  private readonly subscriber: TickSubscriber;
  private readonly pending = new Map<string, SeqTick[]>();
  private readonly recent = new Map<string, SeqTick[]>();
  /** Sockets that joined a pair at snapshot seq S and must not get ticks <= S. */
  private readonly joins = new Map<string, Map<string, number>>();
  /** Per pair: the last seq fanned out, to spot gaps and repeats. */
  private readonly lastSeq = new Map<string, number>();
  /** Pairs being backfilled, with the ticks that arrived meanwhile. */
  private readonly resyncing = new Map<string, SeqTick[]>();
  private flushScheduled = false;
  private closed = false;
  private readonly maxPairs: number;
  private readonly recentSize: number;

  private readonly candles: CandleFeed;

  constructor(
    httpServer: HttpServer,
    private readonly store: TickStore,
    candleStore: CandleStore,
    candleService: CandleService,
    subscriberClient: RedisClient,
    keys: RedisKeys,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: GatewayOptions,
  ) {
    this.maxPairs = options.maxPairsPerSocket ?? 50;
    this.recentSize = options.recentSize ?? 1000;
    this.subscriber = new TickSubscriber(subscriberClient, keys, (t) => this.onTick(t), log);
    this.io = new Server(httpServer, { serveClient: false, cors: { origin: true } });
    this.candles = new CandleFeed((to, event) => this.io.to(to).emit('candle', event), candleStore, candleService, options.candleCacheSize, log);
    this.io.on('connection', (socket) => this.onConnection(socket));
    // After the subscriber link comes back, fetch whatever was published while it was down.
    subscriberClient.on('ready', () => {
      for (const pair of this.subscriber.pairs) void this.resync(pair);
    });
  }

  private onConnection(socket: GatewaySocket): void {
    socket.data.pairs = new Map();
    socket.data.queue = Promise.resolve();
    const inOrder = <T>(work: () => Promise<T>): Promise<T> => {
      const next = socket.data.queue.then(work, work);
      socket.data.queue = next.catch(() => undefined);
      return next;
    };
    this.metrics.socketClients.inc();
    socket.on('subscribe', (request, ack) => {
      if (typeof ack !== 'function') return; // nobody to answer; the contract requires an ack
      inOrder(() => this.subscribe(socket, request)).then(
        ({ reply, missed }) => {
          ack(reply);
          // Right after the ack, before any later fan-out, so the socket sees seqs in order.
          if (missed && missed.length > 0) socket.emit('ticks', missed);
        },
        (err: Error) => {
          this.log.warn({ err: err.message }, 'subscribe failed');
          ack({ ok: false, error: `subscribe failed: ${err.message}` });
        },
      );
    });
    socket.on('unsubscribe', (request, ack) => {
      const pair = (request as { pair?: unknown } | null)?.pair;
      const problem = pairProblem(pair);
      if (problem) {
        if (typeof ack === 'function') ack({ ok: false, error: `pair ${problem}` });
        return;
      }
      void inOrder(() => this.leave(socket, pair as string)).then(() => typeof ack === 'function' && ack({ ok: true }));
    });
    socket.on('disconnect', () => {
      this.metrics.socketClients.dec();
      for (const pair of [...socket.data.pairs.keys()]) void this.leave(socket, pair);
    });
  }

  private async subscribe(socket: GatewaySocket, request: unknown): Promise<{ reply: SubscribeAck; missed?: SeqTick[] }> {
    const fail = (error: string) => ({ reply: { ok: false as const, error } });
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return fail('subscribe takes an object { pair, timeframe? }');
    }
    const { pair, timeframe, indicators } = request as { pair?: unknown; timeframe?: unknown; indicators?: unknown };
    const problem = pairProblem(pair);
    if (problem) return fail(`pair ${problem}`);
    let tf: Timeframe | null = null;
    if (timeframe !== undefined && timeframe !== null) {
      tf = parseTimeframe(timeframe);
      if (!tf) return fail(`timeframe must be one of ${TIMEFRAMES.join(', ')}`);
    }
    const specs: IndicatorSpec[] = [];
    if (indicators !== undefined && indicators !== null) {
      if (!tf) return fail('indicators need a timeframe');
      if (!Array.isArray(indicators) || indicators.length > MAX_INDICATORS) {
        return fail(`indicators must be an array of at most ${MAX_INDICATORS} objects like { name: "rsi", period: 14 }`);
      }
      for (const [i, item] of indicators.entries()) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(`indicators[${i}] must be an object like { name: "rsi", period: 14 }`);
        try {
          specs.push(parseIndicatorRequest(item as Record<string, unknown>));
        } catch (err) {
          const detail = err instanceof ValidationError ? err.details.map((d) => `${d.field} ${d.message}`).join('; ') : String(err);
          return fail(`indicators[${i}]: ${detail}`);
        }
      }
    }
    const p = pair as string;
    if (!socket.data.pairs.has(p) && socket.data.pairs.size >= this.maxPairs) {
      return fail(`at most ${this.maxPairs} pairs per connection`);
    }
    if (socket.data.pairs.has(p)) {
      // A repeated subscribe starts over from a fresh snapshot: out of the rooms until it is taken.
      void socket.leave(room(p));
      this.joins.get(p)?.delete(socket.id);
      this.leaveCandles(socket, p);
    } else {
      await this.subscriber.add(p);
      socket.data.pairs.set(p, null);
    }
    let snapshot;
    let live: Awaited<ReturnType<CandleFeed['add']>> | null = null;
    try {
      // Candles first (a cache miss reads the database); the tick snapshot last, so it is fresh.
      if (tf) {
        live = await this.candles.add(p, tf, specs);
        socket.data.pairs.set(p, { tf, indicators: specs.map(indicatorKey) });
      }
      snapshot = await this.store.snapshot(p, this.options.snapshotSize);
    } catch (err) {
      await this.leave(socket, p);
      throw err;
    }
    if (!socket.connected) {
      await this.leave(socket, p);
      return fail('disconnected');
    }
    // Ticks after the snapshot that were already fanned out before this join go to this socket alone.
    const missed = (this.recent.get(p) ?? []).filter((t) => t.seq > snapshot.seq);
    let joins = this.joins.get(p);
    if (!joins) this.joins.set(p, (joins = new Map()));
    joins.set(socket.id, snapshot.seq);
    if (!this.lastSeq.has(p)) this.lastSeq.set(p, snapshot.seq);
    void socket.join(room(p));
    if (tf) void socket.join(candleRoom(p, tf));
    const reply: SubscribeAck = { ok: true, pair: p, ticks: snapshot.ticks, candles: live?.candles ?? [], seq: snapshot.seq };
    if (tf) reply.timeframe = tf;
    if (specs.length > 0) reply.indicators = live?.indicators;
    return { reply, missed };
  }

  private leaveCandles(socket: GatewaySocket, pair: string): void {
    const sub = socket.data.pairs.get(pair);
    if (!sub) return;
    void socket.leave(candleRoom(pair, sub.tf));
    this.candles.remove(pair, sub.tf, sub.indicators);
    socket.data.pairs.set(pair, null);
  }

  private async leave(socket: GatewaySocket, pair: string): Promise<void> {
    if (!socket.data.pairs.has(pair)) return;
    this.leaveCandles(socket, pair);
    socket.data.pairs.delete(pair);
    void socket.leave(room(pair));
    this.joins.get(pair)?.delete(socket.id);
    await this.subscriber.remove(pair);
    if (!this.subscriber.pairs.includes(pair)) {
      this.recent.delete(pair);
      this.joins.delete(pair);
      this.lastSeq.delete(pair);
    }
  }

  /**
   * Pub/sub loses what is published while the subscriber link is down. A jump in seq (or a
   * reconnect) makes the gateway fetch the missing ticks from the recent list and send them in
   * order; ticks arriving meanwhile are held, and repeats are dropped.
   */
  private onTick(tick: SeqTick): void {
    const held = this.resyncing.get(tick.pair);
    if (held) {
      held.push(tick);
      return;
    }
    const last = this.lastSeq.get(tick.pair);
    if (last !== undefined && tick.seq <= last) return;
    if (last !== undefined && tick.seq > last + 1) {
      void this.resync(tick.pair, [tick]);
      return;
    }
    this.lastSeq.set(tick.pair, tick.seq);
    this.enqueue(tick);
  }

  private async resync(pair: string, held: SeqTick[] = []): Promise<void> {
    if (this.resyncing.has(pair)) return;
    this.resyncing.set(pair, held);
    let recent: SeqTick[] = [];
    let current = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 8 && !this.closed; attempt++) {
      try {
        ({ ticks: recent, seq: current } = await this.store.snapshot(pair, this.options.snapshotSize));
        break;
      } catch {
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, 50, 1000)));
      }
    }
    const ticks = this.resyncing.get(pair) ?? held;
    this.resyncing.delete(pair);
    let last = this.lastSeq.get(pair) ?? 0;
    if (current < last) {
      // The counter went back: Redis lost its data. Follow the new numbering.
      this.log.warn({ pair, was: last, now: current }, 'tick seq went back (Redis lost data); following the new seqs');
      last = 0;
    }
    const bySeq = new Map<number, SeqTick>();
    for (const t of [...recent, ...ticks]) if (t.seq > last) bySeq.set(t.seq, t);
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    if (last > 0 && seqs.length > 0 && seqs[0]! > last + 1) {
      // Older than the recent list: subscribers see the gap in seq and can read history over HTTP.
      this.log.warn({ pair, missing: seqs[0]! - last - 1 }, 'ticks missed while the pub/sub link was down could not all be backfilled');
    }
    for (const seq of seqs) {
      this.lastSeq.set(pair, seq);
      this.enqueue(bySeq.get(seq)!);
    }
  }

  private enqueue(tick: SeqTick): void {
    const list = this.pending.get(tick.pair);
    if (list) list.push(tick);
    else this.pending.set(tick.pair, [tick]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    for (const [pair, ticks] of this.pending) {
      this.remember(pair, ticks);
      const joins = this.joins.get(pair);
      const except: string[] = [];
      if (joins) {
        for (const [socketId, seq] of joins) {
          if (ticks[0]!.seq > seq) {
            joins.delete(socketId); // caught up: from now on the room broadcast is exact for it
            continue;
          }
          except.push(socketId);
          const newer = ticks.filter((t) => t.seq > seq);
          if (newer.length > 0) this.io.to(socketId).emit('ticks', newer);
        }
      }
      const target = except.length > 0 ? this.io.to(room(pair)).except(except) : this.io.to(room(pair));
      target.emit('ticks', ticks);
      this.candles.onTicks(pair, ticks);
    }
    this.pending.clear();
  }

  private remember(pair: string, ticks: SeqTick[]): void {
    const ring = this.recent.get(pair) ?? [];
    ring.push(...ticks);
    if (ring.length > this.recentSize) ring.splice(0, ring.length - this.recentSize);
    this.recent.set(pair, ring);
  }

  /** Idempotent: disconnects every client and stops following Redis. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pair of this.subscriber.pairs) await this.subscriber.remove(pair);
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}
