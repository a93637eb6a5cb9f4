import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { pairProblem } from '../core/pair.js';
import { parseTimeframe, TIMEFRAMES } from '../core/timeframe.js';
import type { SeqTick } from '../core/tick.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { TickSubscriber } from '../redis/tick-subscriber.js';
import type { TickStore } from '../redis/tick-store.js';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../shared/events.js';

interface SocketData {
  pairs: Set<string>;
}
type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface GatewayOptions {
  /** Ticks in the subscribe snapshot. */
  snapshotSize: number;
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
  private flushScheduled = false;
  private closed = false;
  private readonly maxPairs: number;
  private readonly recentSize: number;

  constructor(
    httpServer: HttpServer,
    private readonly store: TickStore,
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
    this.io.on('connection', (socket) => this.onConnection(socket));
  }

  private onConnection(socket: GatewaySocket): void {
    socket.data.pairs = new Set();
    this.metrics.socketClients.inc();
    socket.on('subscribe', (request, ack) => {
      if (typeof ack !== 'function') return; // nobody to answer; the contract requires an ack
      this.subscribe(socket, request).then(ack, (err: Error) => {
        this.log.warn({ err: err.message }, 'subscribe failed');
        ack({ ok: false, error: `subscribe failed: ${err.message}` });
      });
    });
    socket.on('unsubscribe', (request, ack) => {
      const pair = (request as { pair?: unknown } | null)?.pair;
      const problem = pairProblem(pair);
      if (problem) {
        if (typeof ack === 'function') ack({ ok: false, error: `pair ${problem}` });
        return;
      }
      void this.leave(socket, pair as string).then(() => typeof ack === 'function' && ack({ ok: true }));
    });
    socket.on('disconnect', () => {
      this.metrics.socketClients.dec();
      for (const pair of socket.data.pairs) void this.leave(socket, pair);
    });
  }

  private async subscribe(socket: GatewaySocket, request: unknown): Promise<SubscribeAck> {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return { ok: false, error: 'subscribe takes an object { pair, timeframe? }' };
    }
    const { pair, timeframe } = request as { pair?: unknown; timeframe?: unknown };
    const problem = pairProblem(pair);
    if (problem) return { ok: false, error: `pair ${problem}` };
    let tf: string | undefined;
    if (timeframe !== undefined) {
      tf = parseTimeframe(timeframe) ?? undefined;
      if (!tf) return { ok: false, error: `timeframe must be one of ${TIMEFRAMES.join(', ')}` };
    }
    const p = pair as string;
    if (!socket.data.pairs.has(p) && socket.data.pairs.size >= this.maxPairs) {
      return { ok: false, error: `at most ${this.maxPairs} pairs per connection` };
    }
    if (socket.data.pairs.has(p)) {
      // A repeated subscribe starts over from a fresh snapshot: out of the room until it is taken.
      void socket.leave(room(p));
      this.joins.get(p)?.delete(socket.id);
    } else {
      await this.subscriber.add(p);
      socket.data.pairs.add(p);
    }
    let snapshot;
    try {
      snapshot = await this.store.snapshot(p, this.options.snapshotSize);
    } catch (err) {
      await this.leave(socket, p);
      throw err;
    }
    if (!socket.connected) {
      await this.leave(socket, p);
      return { ok: false, error: 'disconnected' };
    }
    // Ticks after the snapshot that were already fanned out before this join go to this socket alone.
    const missed = (this.recent.get(p) ?? []).filter((t) => t.seq > snapshot.seq);
    let joins = this.joins.get(p);
    if (!joins) this.joins.set(p, (joins = new Map()));
    joins.set(socket.id, snapshot.seq);
    void socket.join(room(p));
    if (missed.length > 0) setImmediate(() => socket.emit('ticks', missed));
    const ack: SubscribeAck = { ok: true, pair: p, ticks: snapshot.ticks, candles: [], seq: snapshot.seq };
    if (tf) ack.timeframe = tf;
    return ack;
  }

  private async leave(socket: GatewaySocket, pair: string): Promise<void> {
    if (!socket.data.pairs.delete(pair)) return;
    void socket.leave(room(pair));
    this.joins.get(pair)?.delete(socket.id);
    await this.subscriber.remove(pair);
    if (!this.subscriber.pairs.includes(pair)) {
      this.recent.delete(pair);
      this.joins.delete(pair);
    }
  }

  private onTick(tick: SeqTick): void {
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
