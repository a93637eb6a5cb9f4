import { toSymbol } from '../../../src/core/pair.js';
import { api, type Fetch } from './api.js';
import { LatencyMeter, RateMeter } from './latency.js';
import { StreamLink } from './stream/link.js';
import { afterPaint, PaintMeter, type FrameScheduler } from './stream/paint-meter.js';
import { PairStream } from './stream/pair-stream.js';
import { Subscriptions } from './stream/subscriptions.js';
import type { ClientSocket, ConnectionInfo, PairStats, StreamItem, Watcher } from './stream/types.js';
import type { CandleEvent, FiredAlert, SeqTick } from './types.js';

export type { ClientSocket, ConnectionInfo, ConnectionState, Demand, PairStats, StreamItem, Watcher } from './stream/types.js';
export type { FrameScheduler } from './stream/paint-meter.js';

export interface StreamClientOptions {
  /** Socket.IO URL; default: the page's origin. */
  url?: string;
  /** Makes the socket (tests pass their own options); it must not reconnect by itself. */
  createSocket?: (url: string | undefined) => ClientSocket;
  fetch?: Fetch;
  /** requestAnimationFrame, or a stand-in in tests (for the paint meter only). */
  scheduleFrame?: FrameScheduler;
  /** Runs a callback once the frame is painted; default: a message posted from the frame. */
  afterFrame?: FrameScheduler;
  now?: () => number;
  /** Reconnect backoff: first delay and cap, in ms. */
  backoffMs?: { base: number; cap: number };
  /** Resubscribe backoff after seq mismatches that do not go away. */
  resyncBackoffMs?: { base: number; cap: number };
  /** Ticks asked for in one gap backfill (at most the server's TICK_BUFFER_SIZE). */
  maxBackfill?: number;
  subscribeTimeoutMs?: number;
  /** Subscribes in flight at once (latest wins for the rest). */
  maxSubscribesInFlight?: number;
  /** Quiet time before a chart's subscribe that follows another quickly. */
  subscribeSettleMs?: number;
  /** Where the reasons for resubscribes go. */
  log?: (message: string) => void;
}

/**
 * The browser's one link to QuFLX's live stream, in parts (lib/stream/): the link and its
 * reconnects, the subscriptions (latest wins), each pair's seq-checked live data, and the paint
 * meter. High-frequency data never goes through React: ticks and candle events are handed to the
 * pair's watchers (the charts) as they arrive, and the charts call `series.update()`, which
 * Lightweight Charts draws in its next frame.
 */
export class StreamClient {
  readonly latency = new LatencyMeter(5000);
  private readonly link: StreamLink;
  private readonly subscriptions: Subscriptions;
  private readonly paint: PaintMeter;
  private readonly streams = new Map<string, PairStream>();
  /** Streams by the canonical name the server answered with, where it differs from the name watched. */
  private readonly aliases = new Map<string, PairStream>();
  private readonly renameListeners = new Set<(asked: string, canonical: string) => void>();
  private readonly alertListeners = new Set<(alert: FiredAlert) => void>();
  private readonly totalRate = new RateMeter(5);
  private readonly now: () => number;
  private readonly fetch: Fetch | undefined;
  private readonly options: StreamClientOptions;
  private closed = false;

  constructor(options: StreamClientOptions = {}) {
    this.options = options;
    this.fetch = options.fetch;
    this.now = options.now ?? (() => Date.now());
    this.link = new StreamLink({
      url: options.url,
      createSocket: options.createSocket,
      now: this.now,
      backoffMs: options.backoffMs ?? { base: 250, cap: 5000 },
      onUp: () => {
        for (const s of this.streams.values()) this.subscriptions.sync(s, 'snapshot'); // the server forgot us
      },
      onDown: () => {
        this.subscriptions.linkDown();
        for (const s of this.streams.values()) s.linkDown();
      },
    });
    this.subscriptions = new Subscriptions(this.link, {
      maxInFlight: options.maxSubscribesInFlight ?? 2,
      settleMs: options.subscribeSettleMs ?? 150,
      now: () => performance.now(),
      timeoutMs: options.subscribeTimeoutMs ?? 10_000,
      retryMs: 1000,
      log: (m) => this.hooks.log(m),
    });
    const scheduleFrame = options.scheduleFrame ?? ((cb: () => void) => requestAnimationFrame(() => cb()));
    this.paint = new PaintMeter(this.latency, scheduleFrame, options.afterFrame ?? afterPaint(), this.now);
    this.link.socket.on('ticks', (ticks) => this.onTicks(ticks));
    this.link.socket.on('candle', (event) => this.onCandle(event));
    this.link.socket.on('alert', (alert) => {
      for (const l of this.alertListeners) l(alert);
    });
    this.link.start();
  }

  // ---- connection ---------------------------------------------------------------------------

  get connection(): ConnectionInfo {
    return this.link.connection;
  }

  /** For useSyncExternalStore: called whenever `connection` changes. */
  subscribeConnection = (listener: () => void): (() => void) => this.link.subscribe(listener);

  /** Connects again now (the "retry" button), skipping the backoff wait. */
  retryNow(): void {
    this.link.retryNow();
  }

  /** Subscribe requests sent so far. */
  get subscribesSent(): number {
    return this.subscriptions.sentCount;
  }

  // ---- watchers -----------------------------------------------------------------------------

  /** Follows a pair: `watcher.onItems` gets what arrives for it. Returns the unwatch function. */
  watch(pair: string, watcher: Watcher): () => void {
    let s = this.streams.get(pair);
    if (!s) {
      s = new PairStream(pair, this.hooks, {
        maxBackfill: this.options.maxBackfill ?? 1000,
        maxHeld: 20_000,
        resyncBackoffMs: this.options.resyncBackoffMs ?? { base: 250, cap: 10_000 },
      });
      this.streams.set(pair, s);
    }
    s.watchers.add(watcher);
    const stream = s;
    // A new chart on a pair needs a snapshot of its own even when the request is the same.
    this.subscriptions.sync(stream, watcher.demand !== null && 'chart');
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
          this.subscriptions.sync(stream);
          return;
        }
        this.streams.delete(pair);
        if (this.aliases.get(stream.canonical) === stream) this.aliases.delete(stream.canonical);
        this.subscriptions.cancel(stream);
        stream.close();
        // The server keeps one subscription per instrument: while another stream follows the same
        // one (the page moved from `EURUSD_otc` to its canonical `EUR/USD_otc`), it stays.
        const symbol = toSymbol(stream.canonical);
        const shared = [...this.streams.values()].some((o) => toSymbol(o.pair) === symbol || toSymbol(o.canonical) === symbol);
        if (this.link.connected && stream.sent !== null && !shared) this.link.socket.emit('unsubscribe', { pair });
      });
    };
  }

  private readonly hooks = {
    deliver: (s: PairStream, items: StreamItem[]) => {
      for (const w of s.watchers) {
        try {
          w.onItems(items);
        } catch (err) {
          console.error('chart update failed', err);
        }
      }
    },
    fetchRecent: (pair: string, limit: number) => api.ticks(pair, limit, { fetch: this.fetch }),
    resubscribe: (s: PairStream) => this.subscriptions.sync(s, 'snapshot'),
    counted: (n: number, now: number) => this.totalRate.add(n, now),
    renamed: (s: PairStream, canonical: string) => {
      for (const [name, other] of this.aliases) if (other === s) this.aliases.delete(name);
      if (canonical !== s.pair) this.aliases.set(canonical, s);
      for (const l of this.renameListeners) l(s.pair, canonical);
    },
    now: () => this.now(),
    log: (message: string) => (this.options.log ?? ((m: string) => console.info(`[quflx] ${m}`)))(message),
  };

  // ---- live data ----------------------------------------------------------------------------

  private onTicks(ticks: SeqTick[]): void {
    if (!Array.isArray(ticks) || ticks.length === 0) return;
    // One event holds one pair's ticks, but do not rely on it.
    let start = 0;
    for (let i = 1; i <= ticks.length; i++) {
      if (i === ticks.length || ticks[i]!.pair !== ticks[start]!.pair) {
        this.stream(ticks[start]!.pair)?.onTicks(start === 0 && i === ticks.length ? ticks : ticks.slice(start, i));
        start = i;
      }
    }
  }

  private onCandle(event: CandleEvent): void {
    this.stream(event?.pair)?.onCandle(event);
  }

  /** The stream events of `pair` belong to: watched under that name, or answered under it. */
  private stream(pair: string): PairStream | undefined {
    return this.streams.get(pair) ?? this.aliases.get(pair);
  }

  /** Price alerts as they fire (the server's `alert` event, sent to every client). */
  onAlert(listener: (alert: FiredAlert) => void): () => void {
    this.alertListeners.add(listener);
    return () => this.alertListeners.delete(listener);
  }

  /**
   * Called when the server answers a subscribe under another spelling than the one watched (its
   * canonical name: `EURUSD_otc` is answered as `EUR/USD_otc`). The page then follows that name.
   */
  onRenamed(listener: (asked: string, canonical: string) => void): () => void {
    this.renameListeners.add(listener);
    return () => this.renameListeners.delete(listener);
  }

  /**
   * A chart handed these ticks to its series: their latency is taken once the frame that paints
   * them is on screen. `inFrame`: handed over inside that animation frame already.
   */
  notePainted(ticks: readonly { timestamp: number }[], inFrame = false): void {
    this.paint.note(
      ticks.map((t) => t.timestamp),
      inFrame,
    );
  }

  // ---- meters -------------------------------------------------------------------------------

  stats(pair: string): PairStats {
    return this.stream(pair)?.stats() ?? { price: null, prevPrice: null, timestamp: null, seq: null, rate: 0 };
  }

  /** Ticks per second over every followed pair. */
  totalTickRate(): number {
    return this.totalRate.rate(this.now());
  }

  /** Median tick-to-paint latency over the last seconds, in ms. */
  latencyP50(): number | null {
    return this.latency.quantile(0.5, this.now());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    this.aliases.clear();
    this.renameListeners.clear();
    this.alertListeners.clear();
    this.link.close();
  }
}
