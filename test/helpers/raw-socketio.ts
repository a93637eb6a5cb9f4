import WebSocket from 'ws';

/**
 * Socket.IO clients spoken by hand (Engine.IO v4 framing), to misbehave the way real clients can:
 * a websocket that keeps answering the heartbeat but stops reading, a long-polling client that
 * never polls. Packets: `0` open, `2` ping, `3` pong, `4` message; Socket.IO inside a message:
 * `0` connect, `2` event, `3` ack (`42["event",...]`, `420[...]` with ack id 0).
 */

/** `420["subscribe",{...}]`: a subscribe with ack id `id`. */
export const subscribePacket = (request: unknown, id = 0) => `42${id}${JSON.stringify(['subscribe', request])}`;

/** A websocket Socket.IO client that can stop reading while it keeps the heartbeat going. */
export class RawWebSocketClient {
  private pongTimer: NodeJS.Timeout | null = null;
  readonly received: string[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.received.push(data.toString()));
  }

  /** Opens the websocket, reads the open packet and joins the default namespace. */
  static async connect(url: string): Promise<RawWebSocketClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const client = new RawWebSocketClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send('40');
    const deadline = Date.now() + 5000;
    while (!client.received.some((m) => m.startsWith('40'))) {
      if (Date.now() > deadline) throw new Error(`no namespace connect; got ${JSON.stringify(client.received)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return client;
  }

  send(packet: string): void {
    this.ws.send(packet);
  }

  /**
   * Stops reading from the socket (the kernel buffers fill, then the server's) while a pong goes
   * out every `everyMs`, so the server's heartbeat stays satisfied.
   */
  stopReading(everyMs = 500): void {
    this.ws.pause();
    this.pongTimer = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send('3');
    }, everyMs);
  }

  /** Resolves once the server has closed the connection (the TCP link is gone). */
  closed(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.ws.once('close', () => resolve()));
  }

  get isClosed(): boolean {
    return this.ws.readyState === WebSocket.CLOSED;
  }

  close(): void {
    if (this.pongTimer) clearInterval(this.pongTimer);
    this.ws.terminate();
  }
}

/** A long-polling Socket.IO client that sends (POST) but never polls (GET) after the handshake. */
export class RawPollingClient {
  private pongTimer: NodeJS.Timeout | null = null;
  private constructor(
    private readonly base: string,
    readonly sid: string,
  ) {}

  static async connect(url: string): Promise<RawPollingClient> {
    const base = `${url}/socket.io/?EIO=4&transport=polling`;
    const res = await fetch(`${base}&t=${Date.now()}`);
    const text = await res.text();
    const open = JSON.parse(text.slice(1)) as { sid: string };
    const client = new RawPollingClient(base, open.sid);
    await client.post('40');
    return client;
  }

  /** POSTs one packet; resolves with the HTTP status. */
  async post(packet: string): Promise<number> {
    const res = await fetch(`${this.base}&sid=${this.sid}`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: packet });
    await res.text();
    return res.status;
  }

  /** Keeps the heartbeat going (a pong every `everyMs`) without ever polling for what the server sends. */
  keepAlive(everyMs = 500): void {
    this.pongTimer = setInterval(() => void this.post('3').catch(() => undefined), everyMs);
  }

  /** One GET: what the server holds for this client (or its refusal once the session is gone). */
  async poll(): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.base}&sid=${this.sid}&t=${Date.now()}`);
    return { status: res.status, body: await res.text() };
  }

  close(): void {
    if (this.pongTimer) clearInterval(this.pongTimer);
  }
}
