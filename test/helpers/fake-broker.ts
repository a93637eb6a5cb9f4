import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A broker of the test's own: an HTTP server serving a trading page, and a WebSocket endpoint
 * speaking Engine.IO (v3 or v4, as the socket URL asks) on which the test sends exact frames.
 *
 * Page `/trade?page=S1,S2&worker=S3&shared=S4` opens one socket per named stream: in the page
 * itself, in a dedicated Worker, in a SharedWorker. `eio3=S1,...` makes those streams speak
 * Engine.IO v3.
 */
export class FakeBroker {
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly opened = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeBroker> {
    const http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('cache-control', 'no-store');
      if (url.pathname === '/trade') {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(pageHtml(url.searchParams));
      } else if (url.pathname === '/socket-worker.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(WORKER_JS);
      } else {
        res.statusCode = 404;
        res.end('not found');
      }
    });
    const wss = new WebSocketServer({ server: http, path: '/socket.io/' });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const { port } = http.address() as AddressInfo;
    const broker = new FakeBroker(http, wss, `http://127.0.0.1:${port}`);
    wss.on('connection', (ws, req) => broker.accept(ws, new URL(req.url ?? '/', 'http://x')));
    return broker;
  }

  private accept(ws: WebSocket, url: URL): void {
    const stream = url.searchParams.get('stream') ?? 'default';
    const eio = url.searchParams.get('EIO') === '3' ? 3 : 4;
    let set = this.sockets.get(stream);
    if (!set) this.sockets.set(stream, (set = new Set()));
    set.add(ws);
    this.opened.set(stream, (this.opened.get(stream) ?? 0) + 1);
    ws.on('close', () => set.delete(ws));
    ws.on('error', () => undefined);
    const handshake: Record<string, unknown> = { sid: `sid-${stream}`, upgrades: [], pingInterval: 25_000, pingTimeout: 20_000 };
    if (eio === 4) handshake.maxPayload = 1_000_000;
    ws.send('0' + JSON.stringify(handshake));
    ws.send(eio === 4 ? '40{"sid":"s"}' : '40');
  }

  /** Sockets open on `stream`. */
  connections(stream: string): number {
    return this.sockets.get(stream)?.size ?? 0;
  }

  /** Sockets ever opened on `stream` (a reloaded page opens a new one). */
  openedTotal(stream: string): number {
    return this.opened.get(stream) ?? 0;
  }

  /** Sends frames, in order, on every socket of `stream` (a string is a text frame, a Buffer a binary one). */
  async send(stream: string, frames: (string | Buffer)[]): Promise<void> {
    const sockets = [...(this.sockets.get(stream) ?? [])];
    await Promise.all(
      sockets.map(async (ws) => {
        for (const f of frames) await new Promise<void>((r) => ws.send(f, { binary: typeof f !== 'string' }, () => r()));
      }),
    );
  }

  /** Sends `frames` on `stream` every `everyMs` until close (a page that keeps talking). */
  repeat(stream: string, frames: (string | Buffer)[], everyMs: number): void {
    const t = setInterval(() => void this.send(stream, frames), everyMs);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const set of this.sockets.values()) for (const ws of set) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}

const WORKER_JS = `
function open(stream, eio) {
  const ws = new WebSocket((location.origin.replace('http', 'ws')) + '/socket.io/?EIO=' + eio + '&transport=websocket&stream=' + encodeURIComponent(stream));
  ws.binaryType = 'arraybuffer';
  return ws;
}
const params = new URLSearchParams(location.search);
if (params.get('stream')) open(params.get('stream'), params.get('eio') || '4');
// A SharedWorker gets its stream from its name.
if (self.name) open(self.name, params.get('eio') || '4');
`;

function pageHtml(q: URLSearchParams): string {
  const list = (name: string) => (q.get(name) ?? '').split(',').filter((s) => s !== '');
  const eio3 = new Set(list('eio3'));
  const eio = (s: string) => (eio3.has(s) ? '3' : '4');
  const page = list('page').map((s) => `open(${JSON.stringify(s)}, '${eio(s)}');`);
  const workers = list('worker').map((s) => `new Worker('/socket-worker.js?stream=${encodeURIComponent(s)}&eio=${eio(s)}');`);
  const shared = list('shared').map(
    (s) => `new SharedWorker('/socket-worker.js?eio=${eio(s)}', { name: ${JSON.stringify(s)} });`,
  );
  return `<!doctype html><html><head><title>Fake broker</title></head><body><h1>Fake broker</h1><script>
function open(stream, eio) {
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/socket.io/?EIO=' + eio + '&transport=websocket&stream=' + encodeURIComponent(stream));
  ws.binaryType = 'arraybuffer';
  // The test can make the page reload itself, or go to another URL.
  ws.onmessage = (e) => {
    if (e.data === 'reload-page') location.reload();
    else if (typeof e.data === 'string' && e.data.startsWith('navigate:')) location.href = e.data.slice(9);
  };
  (window.sockets ||= []).push(ws);
}
${[...page, ...workers, ...shared].join('\n')}
</script></body></html>`;
}

/** A frame that makes the fake broker's page reload itself. */
export const RELOAD_PAGE = 'reload-page';

/** A frame that makes the fake broker's page go to `url`. */
export const navigatePage = (url: string) => `navigate:${url}`;

/** Socket.IO v5 binary event over Engine.IO v4: the placeholder frame, then the payload as raw bytes. */
export function eio4BinaryEvent(event: string, payload: unknown): (string | Buffer)[] {
  return [`451-${JSON.stringify([event, { _placeholder: true, num: 0 }])}`, Buffer.from(JSON.stringify(payload))];
}

/** The same over Engine.IO v3: each binary frame starts with the message type byte 0x04. */
export function eio3BinaryEvent(event: string, payload: unknown): (string | Buffer)[] {
  return [`451-${JSON.stringify([event, { _placeholder: true, num: 0 }])}`, Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify(payload))])];
}

/** A Socket.IO text event. */
export function textEvent(event: string, ...args: unknown[]): string {
  return `42${JSON.stringify([event, ...args])}`;
}
