import WebSocket from 'ws';
import { AsyncQueue } from '../lib/async-queue.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';
import type { Feed } from './feed.js';

export interface WsFeedOptions {
  url: string;
  log: Logger;
  /** No message or pong for this long: the link is taken as dead and reopened. */
  silentMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The backoff starts over only once a link has stayed open this long (a feed that accepts and drops at once is not retried in a storm). */
  healthyMs?: number;
  /** Called for a message that is not JSON (the pump never sees it). */
  onBadMessage?: (reason: string) => void;
}

export type WsFeedState = 'connecting' | 'open' | 'closed';

/**
 * Client for a `ws://` / `wss://` JSON tick feed: each text message is one tick or an array.
 * Reconnects with capped, jittered backoff, reset only after a link stayed up `healthyMs`; pings
 * and treats silence as a dead link.
 */
export class WsFeed implements Feed {
  readonly source = 'ws' as const;
  private readonly queue = new AsyncQueue<unknown[]>(10_000);
  private socket: WebSocket | null = null;
  private attempts = 0;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private healthyTimer: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private readonly silentMs: number;
  state: WsFeedState = 'connecting';
  /** Times the link was (re)opened. */
  connects = 0;

  constructor(private readonly options: WsFeedOptions) {
    this.silentMs = options.silentMs ?? 30_000;
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    this.state = 'connecting';
    const ws = new WebSocket(this.options.url, { handshakeTimeout: 10_000 });
    this.socket = ws;
    ws.on('open', () => {
      this.healthyTimer = setTimeout(() => (this.attempts = 0), this.options.healthyMs ?? 5000);
      this.connects++;
      this.state = 'open';
      this.lastHeard = Date.now();
      this.options.log.info({ url: this.options.url }, 'feed connected');
      this.startWatchdog(ws);
    });
    ws.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      if (isBinary) return this.options.onBadMessage?.('binary message');
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return this.options.onBadMessage?.('message is not valid JSON');
      }
      const batch = Array.isArray(parsed) ? parsed : [parsed];
      if (!this.queue.push(batch)) this.options.onBadMessage?.('feed queue full; message dropped');
    });
    ws.on('pong', () => (this.lastHeard = Date.now()));
    ws.on('error', (err) => this.options.log.debug({ err: err.message }, 'feed socket error'));
    ws.on('close', () => {
      this.stopWatchdog();
      if (this.healthyTimer) clearTimeout(this.healthyTimer);
      this.healthyTimer = null;
      if (this.socket === ws) this.socket = null;
      if (this.closed) return;
      const delay = backoffDelay(this.attempts++, this.options.minBackoffMs ?? 100, this.options.maxBackoffMs ?? 10_000);
      this.state = 'connecting';
      this.options.log.warn({ url: this.options.url, retryInMs: delay }, 'feed disconnected; reconnecting');
      this.retryTimer = setTimeout(() => this.open(), delay);
    });
  }

  private startWatchdog(ws: WebSocket): void {
    const every = Math.max(50, Math.floor(this.silentMs / 3));
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastHeard > this.silentMs) {
        this.options.log.warn({ url: this.options.url, silentMs: this.silentMs }, 'feed silent; reopening');
        ws.terminate();
      } else if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, every);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown[]> {
    return this.queue[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.healthyTimer) clearTimeout(this.healthyTimer);
    this.stopWatchdog();
    this.socket?.terminate();
    this.queue.close();
  }
}
