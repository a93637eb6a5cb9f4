import type { Protocol } from 'devtools-protocol';
import type { ProtocolMapping } from 'devtools-protocol/types/protocol-mapping.js';
import type { BrowserLink, CdpEvent } from './browser-link.js';

/** Targets whose WebSockets are read: tabs, out-of-process frames, dedicated and shared workers. */
export type ReadTargetType = 'page' | 'iframe' | 'worker' | 'shared_worker';
const READ_TYPES: readonly string[] = ['page', 'iframe', 'worker', 'shared_worker'] satisfies ReadTargetType[];

/**
 * Only these are attached. Service workers are left alone (an attached one is never stopped by
 * the browser), as are the browser's own UI (`browser_ui`), tabs-as-containers, extensions' pages.
 */
const TARGET_FILTER: Protocol.Target.TargetFilter = [...READ_TYPES.map((type) => ({ type })), { exclude: true }];
const AUTO_ATTACH: Protocol.Target.SetAutoAttachRequest = {
  autoAttach: true,
  // New targets wait until Network is on, so their first socket is seen from its first frame.
  waitForDebuggerOnStart: true,
  flatten: true,
  filter: TARGET_FILTER,
};

interface TargetSession {
  sessionId: string;
  targetId: string;
  type: ReadTargetType;
  url: string;
  /** The session it was attached through (a worker's page); none for top-level targets. */
  parent: string | undefined;
  networkOn: boolean;
  childrenOn: boolean;
}

export interface TargetSummary {
  type: ReadTargetType;
  /** Origin and path only: a broker's query string may hold a session token. */
  url: string;
  /** Whether its sockets are read (CDP_URL_FILTER). */
  read: boolean;
}

export interface TargetSessionsHooks {
  /** A session went away (tab closed, worker ended, renderer crashed): forget its sockets. */
  sessionGone(sessionId: string): void;
  /** Something Chrome did that QuFLX skips on purpose or could not act on; counted. */
  ignored(what: string, detail?: unknown): void;
}

/**
 * Attaches to every page, frame and worker of the browser (present and future, with flat
 * sessions) and turns on the Network domain where sockets are to be read: where the page's URL
 * contains CDP_URL_FILTER, or everywhere without one.
 */
export class TargetSessions {
  private readonly sessions = new Map<string, TargetSession>();

  constructor(
    private readonly link: BrowserLink,
    private readonly urlFilter: string | undefined,
    private readonly hooks: TargetSessionsHooks,
  ) {}

  /** Asks for every target, existing and new. */
  async start(): Promise<void> {
    await this.link.send('Target.setDiscoverTargets', { discover: true, filter: TARGET_FILTER });
    await this.link.send('Target.setAutoAttach', AUTO_ATTACH);
  }

  /** Handles Target.* events; returns false for events that are not about targets. */
  handle(event: CdpEvent): boolean {
    switch (event.method) {
      case 'Target.attachedToTarget':
        this.attached(event.params as Protocol.Target.AttachedToTargetEvent, event.sessionId);
        return true;
      case 'Target.detachedFromTarget':
        this.gone((event.params as Protocol.Target.DetachedFromTargetEvent).sessionId);
        return true;
      case 'Target.targetInfoChanged':
        this.infoChanged((event.params as Protocol.Target.TargetInfoChangedEvent).targetInfo);
        return true;
      case 'Target.targetCrashed': {
        // The target stays, its sockets do not (no close event comes for them).
        const { targetId } = event.params as Protocol.Target.TargetCrashedEvent;
        for (const s of this.sessions.values()) if (s.targetId === targetId) this.hooks.sessionGone(s.sessionId);
        return true;
      }
      default:
        return event.method.startsWith('Target.');
    }
  }

  has(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  /** Whether a socket of this session, seen now, is to be read. */
  reads(sessionId: string): boolean {
    const s = this.sessions.get(sessionId);
    return s !== undefined && this.matches(s);
  }

  summary(): (TargetSummary & { sessionId: string })[] {
    return [...this.sessions.values()].map((s) => ({ sessionId: s.sessionId, type: s.type, url: safeUrl(s.url), read: this.matches(s) }));
  }

  clear(): void {
    this.sessions.clear();
  }

  private attached(e: Protocol.Target.AttachedToTargetEvent, parent: string | undefined): void {
    const { sessionId, targetInfo, waitingForDebugger } = e;
    if (!READ_TYPES.includes(targetInfo.type)) {
      this.hooks.ignored(`target_${targetInfo.type}`);
      if (waitingForDebugger) this.fire('Runtime.runIfWaitingForDebugger', undefined, sessionId);
      this.fire('Target.detachFromTarget', { sessionId }, parent);
      return;
    }
    const s: TargetSession = {
      sessionId,
      targetId: targetInfo.targetId,
      type: targetInfo.type as ReadTargetType,
      url: targetInfo.url,
      parent,
      networkOn: false,
      childrenOn: false,
    };
    this.sessions.set(sessionId, s);
    this.enableIfWanted(s);
    // Sent after Network.enable on the same session, so it runs once Network is on; not awaited
    // (awaiting Network.enable before letting a paused target run can deadlock).
    if (waitingForDebugger) this.fire('Runtime.runIfWaitingForDebugger', undefined, sessionId);
  }

  private gone(sessionId: string): void {
    if (!this.sessions.delete(sessionId)) return;
    this.hooks.sessionGone(sessionId);
  }

  private infoChanged(info: Protocol.Target.TargetInfo): void {
    let changed = false;
    for (const s of this.sessions.values()) {
      if (s.targetId === info.targetId && s.url !== info.url) {
        s.url = info.url;
        changed = true;
      }
    }
    // A navigation may make this page, its workers, or a shared worker of its origin wanted.
    if (changed && this.urlFilter !== undefined) for (const s of this.sessions.values()) this.enableIfWanted(s);
  }

  private enableIfWanted(s: TargetSession): void {
    if (!this.wanted(s)) return;
    if (!s.networkOn) {
      s.networkOn = true;
      this.fire('Network.enable', {}, s.sessionId);
    }
    if ((s.type === 'page' || s.type === 'iframe') && !s.childrenOn) {
      s.childrenOn = true;
      this.fire('Target.setAutoAttach', AUTO_ATTACH, s.sessionId);
    }
  }

  /** Network goes on where sockets are read, and on pages whose first URL is not known yet. */
  private wanted(s: TargetSession): boolean {
    if (this.matches(s)) return true;
    return (s.type === 'page' || s.type === 'iframe') && (s.url === '' || s.url === 'about:blank');
  }

  private matches(s: TargetSession): boolean {
    const filter = this.urlFilter;
    if (filter === undefined) return true;
    if (s.type === 'shared_worker') {
      if (s.url.includes(filter)) return true;
      const origin = originOf(s.url);
      // A shared worker belongs to no page: it is read when a read page shares its origin.
      for (const p of this.sessions.values()) if (p.type === 'page' && p.url.includes(filter) && originOf(p.url) === origin) return true;
      return false;
    }
    return this.topUrl(s).includes(filter);
  }

  /** The URL of the tab a frame or dedicated worker lives in. */
  private topUrl(s: TargetSession): string {
    let cur = s;
    for (let depth = 0; depth < 16 && cur.type !== 'page' && cur.parent; depth++) {
      const up = this.sessions.get(cur.parent);
      if (!up) break;
      cur = up;
    }
    return cur.url;
  }

  /** Sends a command without waiting; a refusal (the target went away meanwhile) is counted. */
  private fire<M extends keyof ProtocolMapping.Commands>(
    method: M,
    params: ProtocolMapping.Commands[M]['paramsType'][0] | undefined,
    sessionId?: string,
  ): void {
    this.link.send(method, params, sessionId).catch((err: Error) => this.hooks.ignored('command_failed', { method, err: err.message }));
  }
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** A URL without its query and fragment. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? `${u.protocol}${u.pathname}` : `${u.origin}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0] ?? '';
  }
}
