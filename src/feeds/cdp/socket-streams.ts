import { SocketFrameDecoder, type FrameResult, type WsFrame } from '../../core/socket-frame-decoder.js';

interface SocketState {
  sessionId: string;
  decoder: SocketFrameDecoder;
  /** Decided when the socket is first seen: whether its page matched CDP_URL_FILTER then. */
  read: boolean;
}

/** Most sockets followed at once; past it the oldest is forgotten (a page that leaks sockets). */
export const MAX_SOCKETS = 2000;

/**
 * The frame state of every WebSocket the attached pages and workers hold, keyed by session and
 * request id (frames of different sockets interleave). A socket opened before QuFLX attached
 * never announces itself: its state starts with its first frame.
 */
export class SocketStreams {
  private readonly sockets = new Map<string, SocketState>();
  /** Sockets forgotten to stay under MAX_SOCKETS. */
  evicted = 0;
  /** Sockets whose frames are read now. */
  reading = 0;

  constructor(
    private readonly maxSockets = MAX_SOCKETS,
    /** Told whenever `reading` changes. */
    private readonly onChange: (reading: number) => void = () => undefined,
  ) {}

  /** `Network.webSocketCreated`: the URL tells the Engine.IO version. */
  created(sessionId: string, requestId: string, url: string, read: boolean): void {
    this.add(key(sessionId, requestId), { sessionId, decoder: new SocketFrameDecoder(url), read });
  }

  /** A received frame; null when the socket's page is not read (CDP_URL_FILTER). */
  frame(sessionId: string, requestId: string, frame: WsFrame, readIfNew: () => boolean): FrameResult | null {
    const k = key(sessionId, requestId);
    let s = this.sockets.get(k);
    if (!s) this.add(k, (s = { sessionId, decoder: new SocketFrameDecoder(), read: readIfNew() }));
    return s.read ? s.decoder.decode(frame) : null;
  }

  closed(sessionId: string, requestId: string): void {
    this.remove(key(sessionId, requestId));
  }

  /** A page or worker went away: so did its sockets. */
  dropSession(sessionId: string): void {
    for (const [k, s] of this.sockets) if (s.sessionId === sessionId) this.remove(k);
  }

  clear(): void {
    this.sockets.clear();
    this.setReading(0);
  }

  /** Sockets followed per session (read ones only). */
  countBySession(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.sockets.values()) if (s.read) out.set(s.sessionId, (out.get(s.sessionId) ?? 0) + 1);
    return out;
  }

  get size(): number {
    return this.sockets.size;
  }

  private add(k: string, s: SocketState): void {
    this.remove(k);
    if (this.sockets.size >= this.maxSockets) {
      this.remove(this.sockets.keys().next().value!);
      this.evicted++;
    }
    this.sockets.set(k, s);
    if (s.read) this.setReading(this.reading + 1);
  }

  private remove(k: string): void {
    const s = this.sockets.get(k);
    if (!s) return;
    this.sockets.delete(k);
    if (s.read) this.setReading(this.reading - 1);
  }

  private setReading(n: number): void {
    if (n === this.reading) return;
    this.reading = n;
    this.onChange(n);
  }
}

function key(sessionId: string, requestId: string): string {
  return `${sessionId} ${requestId}`;
}
