import net from 'node:net';

/** One proxied connection: the client's socket and ours to the server. */
interface Link {
  client: net.Socket;
  upstream: net.Socket;
  /** When the client last sent bytes, and when the server last answered (performance.now()). */
  askedAt: number;
  answeredAt: number;
}

/**
 * A TCP proxy in front of a real server that a test can break the way networks do: cut (every
 * connection dropped, new ones refused) and restore; reset the live links with a TCP RST while
 * it keeps listening; or freeze (stop forwarding in both directions without closing anything,
 * new connections accepted but not served) and release.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private server: net.Server | null = null;
  private frozen = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      const link: Link = { client, upstream, askedAt: 0, answeredAt: 0 };
      this.links.add(link);
      // Seen beside the pipes (listening does not change the flow): a link whose client spoke
      // last is waiting for the server, e.g. a query in progress.
      client.on('data', () => (link.askedAt = performance.now()));
      upstream.on('data', () => (link.answeredAt = performance.now()));
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.links.delete(link);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      if (this.frozen) {
        client.pause();
        upstream.pause();
      } else forward(link);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Live connections (each counts once). */
  get connections(): number {
    return this.links.size;
  }

  /** Drops every connection and stops listening: clients see resets, then refusals. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream.destroy();
    }
    this.links.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Sends a TCP RST on every live connection, both ways; new connections are still accepted. Returns how many were reset. */
  reset(): number {
    const n = this.links.size;
    for (const { client, upstream } of this.links) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.links.clear();
    return n;
  }

  /** Links whose client sent something the server has not answered yet. */
  get waiting(): number {
    let n = 0;
    for (const l of this.links) if (l.askedAt > l.answeredAt) n++;
    return n;
  }

  /**
   * Stops forwarding without closing: bytes wait in the socket buffers as if the server (or the
   * network) had stalled, and TCP keeps the links open. New connections are accepted and held.
   */
  freeze(): void {
    this.frozen = true;
    for (const { client, upstream } of this.links) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again whatever waited, on every link. */
  release(): void {
    this.frozen = false;
    for (const link of this.links) forward(link);
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    await this.start(this.port);
  }

  async close(): Promise<void> {
    this.frozen = false;
    await this.cut();
  }
}

function forward({ client, upstream }: Link): void {
  client.pipe(upstream);
  upstream.pipe(client);
}

/** A started proxy in front of the test PostgreSQL, and the URL of a schema reached through it. */
export async function proxyToTestDatabase(base: string): Promise<{ proxy: TcpProxy; urlFor: (schema: string) => string }> {
  const target = new URL(base);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  const urlFor = (schema: string) => {
    const viaProxy = new URL(base);
    viaProxy.port = String(proxy.port);
    viaProxy.searchParams.set('options', `-c search_path=${schema}`);
    return viaProxy.toString();
  };
  return { proxy, urlFor };
}
