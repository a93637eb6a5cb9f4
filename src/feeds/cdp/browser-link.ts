import CDP from 'chrome-remote-interface';
import type { ProtocolMapping } from 'devtools-protocol/types/protocol-mapping.js';

type Commands = ProtocolMapping.Commands;
export type CdpEvent = { method: string; params: unknown; sessionId: string | undefined };

/** What `http://HOST:PORT/json/version` says about the browser. */
export interface BrowserVersion {
  /** e.g. `Chrome/156.0.8078.114`. */
  browser: string;
  webSocketDebuggerUrl: string;
}

/** Asks the browser at HOST:PORT for its DevTools socket; throws a readable error when nobody answers. */
export async function discoverBrowser(host: string, port: number, timeoutMs = 5000): Promise<BrowserVersion> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/json/version`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`no browser answers at ${host}:${port} (${cause}); start it with \`npm run chrome\``);
  }
  if (!res.ok) throw new Error(`${url} answered ${res.status}: not a Chrome DevTools port`);
  const body = (await res.json().catch(() => null)) as { Browser?: unknown; webSocketDebuggerUrl?: unknown } | null;
  if (typeof body?.webSocketDebuggerUrl !== 'string') throw new Error(`${url} gave no webSocketDebuggerUrl: not a Chrome DevTools port`);
  return { browser: typeof body.Browser === 'string' ? body.Browser : 'unknown', webSocketDebuggerUrl: body.webSocketDebuggerUrl };
}

/**
 * One DevTools connection to the whole browser, with flat sessions: a command names the session
 * it is for, and every event arrives at one handler with the session it came from.
 */
export class BrowserLink {
  private closed = false;
  private markClosed!: () => void;
  private readonly closedPromise = new Promise<void>((resolve) => (this.markClosed = resolve));

  private constructor(
    private readonly client: CDP.Client,
    onEvent: (event: CdpEvent) => void,
    onHandlerError: (err: unknown) => void,
  ) {
    client.on('disconnect', () => {
      this.closed = true;
      this.markClosed();
    });
    // The library calls us from inside its socket's message handler: a throw there would take
    // the process down, so nothing escapes.
    client.on('event', (m) => {
      try {
        onEvent({ method: m.method, params: m.params, sessionId: m.sessionId });
      } catch (err) {
        onHandlerError(err);
      }
    });
  }

  static async open(
    webSocketDebuggerUrl: string,
    onEvent: (event: CdpEvent) => void,
    onHandlerError: (err: unknown) => void,
  ): Promise<BrowserLink> {
    const client = await CDP({ target: webSocketDebuggerUrl, local: true });
    return new BrowserLink(client, onEvent, onHandlerError);
  }

  send<M extends keyof Commands>(
    method: M,
    params: Commands[M]['paramsType'][0] | undefined,
    sessionId?: string,
  ): Promise<Commands[M]['returnType']> {
    if (this.closed) return Promise.reject(new Error('DevTools connection closed'));
    return this.client.send(method, params ?? {}, sessionId) as Promise<Commands[M]['returnType']>;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Resolves when the browser end goes away (closed, crashed, restarted) or after close(). */
  get done(): Promise<void> {
    return this.closedPromise;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close().catch(() => undefined);
    this.markClosed();
  }
}
