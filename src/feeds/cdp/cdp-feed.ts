import type { Protocol } from 'devtools-protocol';
import { AsyncQueue } from '../../lib/async-queue.js';
import { backoffDelay } from '../../lib/backoff.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { ThrottledLog } from '../../observability/throttled-log.js';
import type { Feed, FeedLinkStatus } from '../feed.js';
import { BrowserLink, discoverBrowser, type CdpEvent } from './browser-link.js';
import { SocketStreams } from './socket-streams.js';
import { TargetSessions } from './target-sessions.js';

export interface CdpFeedOptions {
  /** Chrome's remote-debugging address (FEED=cdp://HOST:PORT). */
  host: string;
  port: number;
  /** Only pages whose URL contains this are read (CDP_URL_FILTER); every page when unset. */
  urlFilter?: string;
  log: Logger;
  metrics: Metrics;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export type CdpFeedState = 'connecting' | 'attached' | 'closed';

const SOURCE = 'cdp';

/**
 * Live ticks from the broker pages open in Chrome: attaches to the browser over the DevTools
 * protocol, reads every WebSocket frame its pages and workers receive, and yields the ticks in
 * them. When Chrome closes, crashes or restarts, it attaches again with capped backoff. Nothing
 * Chrome or a page does can throw out of here: what is skipped is counted.
 */
export class CdpFeed implements Feed {
  readonly source = SOURCE;
  private readonly queue = new AsyncQueue<unknown[]>(10_000);
  private readonly sockets: SocketStreams;
  private link: BrowserLink | null = null;
  private targets: TargetSessions | null = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly done: Promise<void>;
  private readonly waitLog: ThrottledLog;
  private readonly dropLog: ThrottledLog;
  private readonly m: {
    frames: { inc(n?: number): void };
    ticks: { inc(n?: number): void };
    up: { set(v: number): void };
  };
  state: CdpFeedState = 'connecting';
  browser: string | null = null;
  /** Times QuFLX attached to a browser (1 after the first attach). */
  attaches = 0;
  lastError: string | null = null;
  frames = 0;
  ticks = 0;
  framesWithoutTicks = 0;

  constructor(private readonly options: CdpFeedOptions) {
    this.waitLog = new ThrottledLog(options.log, 30_000);
    this.dropLog = new ThrottledLog(options.log);
    const { metrics } = options;
    this.m = {
      frames: metrics.feedFrames.labels(SOURCE),
      ticks: metrics.feedFrameTicks.labels(SOURCE),
      up: metrics.feedUp.labels(SOURCE),
    };
    this.m.up.set(0);
    const socketsGauge = metrics.feedSockets.labels(SOURCE);
    socketsGauge.set(0);
    this.sockets = new SocketStreams(undefined, (n) => socketsGauge.set(n));
    this.done = this.run();
  }

  get endpoint(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        await this.attachOnce();
        attempt = 0;
        if (!this.closed) this.options.log.warn({ endpoint: this.endpoint }, 'Chrome went away (closed, crashed or restarted); attaching again');
      } catch (err) {
        this.lastError = (err as Error).message;
        this.waitLog.warn({ endpoint: this.endpoint, reason: this.lastError }, 'waiting for Chrome');
      }
      this.forget();
      if (this.closed) break;
      await this.sleep(backoffDelay(attempt++, this.options.minBackoffMs ?? 200, this.options.maxBackoffMs ?? 3000));
    }
  }

  /** One attachment, from discovery until the browser connection ends. */
  private async attachOnce(): Promise<void> {
    this.state = 'connecting';
    const version = await discoverBrowser(this.options.host, this.options.port);
    if (this.closed) return;
    const link = await BrowserLink.open(
      version.webSocketDebuggerUrl,
      (event) => this.onEvent(event),
      (err) => {
        this.ignored('handler_error');
        this.dropLog.warn({ err }, 'error while reading a DevTools event; skipped');
      },
    );
    this.link = link;
    this.targets = new TargetSessions(link, this.options.urlFilter, {
      sessionGone: (sessionId) => this.sockets.dropSession(sessionId),
      ignored: (what, detail) => {
        this.ignored(what);
        if (detail) this.options.log.debug({ what, detail }, 'DevTools: skipped');
      },
    });
    if (this.closed) return void (await link.close());
    try {
      await this.targets.start();
    } catch (err) {
      await link.close();
      throw err;
    }
    this.state = 'attached';
    this.browser = version.browser;
    this.lastError = null;
    this.attaches++;
    this.options.metrics.feedConnects.inc({ source: SOURCE });
    this.m.up.set(1);
    this.options.log.info({ endpoint: this.endpoint, browser: version.browser, urlFilter: this.options.urlFilter ?? null }, 'attached to Chrome');
    await link.done;
  }

  private forget(): void {
    this.link = null;
    this.targets?.clear();
    this.targets = null;
    this.sockets.clear();
    this.m.up.set(0);
    if (!this.closed) this.state = 'connecting';
  }

  private onEvent(event: CdpEvent): void {
    const targets = this.targets;
    if (!targets || targets.handle(event)) return;
    const sessionId = event.sessionId;
    if (!event.method.startsWith('Network.webSocket')) return; // other Network events come with Network.enable
    if (sessionId === undefined || !targets.has(sessionId)) return this.ignored('unknown_session');
    switch (event.method) {
      case 'Network.webSocketCreated': {
        const p = event.params as Protocol.Network.WebSocketCreatedEvent;
        this.sockets.created(sessionId, p.requestId, p.url, targets.reads(sessionId));
        return;
      }
      case 'Network.webSocketFrameReceived': {
        const p = event.params as Protocol.Network.WebSocketFrameReceivedEvent;
        return this.onFrame(sessionId, p.requestId, p.response);
      }
      case 'Network.webSocketClosed':
        this.sockets.closed(sessionId, (event.params as Protocol.Network.WebSocketClosedEvent).requestId);
        return;
      case 'Network.webSocketFrameError':
        return this.ignored('frame_error');
      default:
        return; // handshakes and sent frames carry no quotes
    }
  }

  private onFrame(sessionId: string, requestId: string, frame: Protocol.Network.WebSocketFrame): void {
    const targets = this.targets!;
    const r = this.sockets.frame(sessionId, requestId, frame, () => targets.reads(sessionId));
    if (r === null) return this.ignored('frame_not_read');
    this.frames++;
    this.m.frames.inc();
    if (r.abandoned) this.ignored('binary_event_incomplete');
    if (r.status === 'pending') return;
    if (r.status !== 'ticks') {
      this.framesWithoutTicks++;
      this.options.metrics.feedFramesWithoutTicks.inc({ source: SOURCE, reason: r.status.replace('-', '_') });
      return;
    }
    this.ticks += r.ticks.length;
    this.m.ticks.inc(r.ticks.length);
    if (!this.queue.push(r.ticks)) {
      this.options.metrics.bufferOverflow.inc({ buffer: 'cdp' }, r.ticks.length);
      this.dropLog.warn({ dropped: r.ticks.length }, 'Chrome feed queue full: ticks dropped');
    }
  }

  private ignored(what: string): void {
    this.options.metrics.feedIgnored.inc({ source: SOURCE, what });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  describe(): FeedLinkStatus {
    const perSession = this.sockets.countBySession();
    const targets = (this.targets?.summary() ?? []).map(({ sessionId, ...t }) => ({ ...t, sockets: perSession.get(sessionId) ?? 0 }));
    const sockets = this.sockets.reading;
    return {
      status: this.state === 'attached' ? 'up' : 'down',
      state: this.state,
      endpoint: this.endpoint,
      urlFilter: this.options.urlFilter ?? null,
      browser: this.browser,
      attaches: this.attaches,
      lastError: this.lastError,
      pages: targets.filter((t) => t.type === 'page').length,
      sockets,
      frames: this.frames,
      ticks: this.ticks,
      framesWithoutTicks: this.framesWithoutTicks,
      targets,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown[]> {
    return this.queue[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'closed';
    this.wake?.();
    await this.link?.close();
    await this.done;
    this.m.up.set(0);
    this.queue.close();
  }
}
