import { io } from 'socket.io-client';
import { backoffDelay } from '../../../../src/lib/backoff.js';
import { socketAuth } from '../access-token.js';
import type { ClientSocket, ConnectionInfo } from './types.js';

export interface LinkOptions {
  /** Socket.IO URL; default: the page's origin. */
  url?: string;
  /** Makes the socket (tests pass their own options); it must not reconnect by itself. */
  createSocket?: (url: string | undefined) => ClientSocket;
  now: () => number;
  /** Reconnect backoff: first delay and cap, in ms. */
  backoffMs: { base: number; cap: number };
  onUp: () => void;
  onDown: () => void;
}

const SOCKET_OPTIONS = {
  // WebSocket only: no long-polling round trips before the first tick, and no sticky sessions
  // needed when several server processes share one port.
  transports: ['websocket'],
  // Reconnection is ours (capped backoff for every reason, also a server that shut down cleanly).
  reconnection: false,
  autoConnect: false,
  timeout: 5000,
  // The access token (ACCESS_TOKEN), read at every (re)connect.
  auth: socketAuth,
};

/**
 * The Socket.IO link and its reconnects: the socket never reconnects by itself; this does, with
 * the server's capped, jittered backoff (src/lib/backoff.ts), for every reason, and keeps the
 * connection state the status bar shows.
 */
export class StreamLink {
  readonly socket: ClientSocket;
  private info: ConnectionInfo = { state: 'connecting', attempt: 0, retryAt: null, reason: null };
  private readonly listeners = new Set<() => void>();
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private everConnected = false;
  private closed = false;

  constructor(private readonly options: LinkOptions) {
    const create = options.createSocket ?? ((url: string | undefined) => (url ? io(url, SOCKET_OPTIONS) : io(SOCKET_OPTIONS)) as ClientSocket);
    this.socket = create(options.url);
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('disconnect', (reason) => this.onDisconnect(reason));
    this.socket.on('connect_error', (err) => this.onConnectError(err));
  }

  start(): void {
    if (!this.socket.connected) this.socket.connect();
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  get connection(): ConnectionInfo {
    return this.info;
  }

  /** For useSyncExternalStore: called whenever `connection` changes. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private setInfo(info: Partial<ConnectionInfo>): void {
    this.info = { ...this.info, ...info };
    for (const l of this.listeners) l();
  }

  private onConnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.everConnected = true;
    this.setInfo({ state: 'live', attempt: 0, retryAt: null, reason: null });
    this.options.onUp();
  }

  private onDisconnect(reason: string): void {
    this.options.onDown();
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

  private scheduleReconnect(reason: string): void {
    if (this.reconnectTimer || this.closed) return;
    const attempt = this.info.attempt;
    const delay = backoffDelay(attempt, this.options.backoffMs.base, this.options.backoffMs.cap);
    this.setInfo({
      state: this.everConnected ? 'reconnecting' : attempt === 0 ? 'connecting' : 'offline',
      attempt: attempt + 1,
      retryAt: this.options.now() + delay,
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket.removeAllListeners();
    this.socket.disconnect();
    this.setInfo({ state: 'offline', retryAt: null, reason: 'closed' });
  }
}

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
