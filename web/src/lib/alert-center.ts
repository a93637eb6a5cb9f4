import { ApiError, api, type Fetch } from './api.js';
import { unseenFired } from './alert-logic.js';
import type { ConnectionInfo, StreamClient } from './stream-client.js';
import type { Alert, AlertRequest, FiredAlert } from './types.js';

export interface AlertsState {
  status: 'loading' | 'ready' | 'error';
  alerts: readonly Alert[];
  error: string | null;
}

/** What the page is told when an alert fires, now or while it was closed. */
export interface AlertNews {
  alert: Alert;
  /** Fired while the page was closed (found in the list when it opened). */
  away: boolean;
}

const SEEN_KEY = 'quflx.alerts.seenAt';

/**
 * The price alerts of the page: the server's list (GET /api/alerts, loaded at start and after
 * every reconnect, so alerts that fired meanwhile show as fired), made and deleted over HTTP, and
 * kept current by the `alert` event. It tells the page about each firing once: the live ones, and
 * those that fired while no page was open (after the last one seen, remembered in localStorage).
 */
export class AlertCenter {
  private state: AlertsState = { status: 'loading', alerts: [], error: null };
  private readonly listeners = new Set<() => void>();
  private readonly newsListeners = new Set<(news: AlertNews) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private loading: Promise<void> | null = null;
  private wasLive = false;
  private closed = false;

  constructor(
    private readonly client: StreamClient | null,
    private readonly options: { fetch?: Fetch; storage?: Pick<Storage, 'getItem' | 'setItem'> | null } = {},
  ) {
    if (client) {
      this.unsubscribe.push(client.onAlert((a) => this.fired(a)));
      this.unsubscribe.push(client.subscribeConnection(() => this.onConnection(client.connection)));
      this.wasLive = client.connection.state === 'live';
    }
  }

  // ---- for React (useSyncExternalStore) -------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): AlertsState => this.state;

  /** Told once per firing (live, or found fired on load after the last one seen). */
  onNews(listener: (news: AlertNews) => void): () => void {
    this.newsListeners.add(listener);
    return () => this.newsListeners.delete(listener);
  }

  forPair(pair: string): Alert[] {
    return this.state.alerts.filter((a) => a.pair === pair);
  }

  // ---- actions --------------------------------------------------------------------------------

  /** (Re)loads the list; alerts that fired since the last one seen are news. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const alerts = await api.alerts({ fetch: this.options.fetch });
        if (this.closed) return;
        this.set({ status: 'ready', alerts: sortAlerts(alerts), error: null });
        const seen = this.seenAt();
        // A browser's first visit starts the clock: what fired before it is in the list, not news.
        if (seen === 0) {
          this.markSeen(Math.max(Date.now(), ...alerts.map((a) => a.triggeredAt ?? 0)));
          return;
        }
        const news = unseenFired(alerts, seen);
        if (news.length > 0) {
          this.markSeen(Math.max(...news.map((a) => a.triggeredAt!)));
          for (const a of news) this.tell({ alert: a, away: true });
        }
      } catch (err) {
        if (this.closed) return;
        this.set({ ...this.state, status: this.state.alerts.length > 0 ? 'ready' : 'error', error: message(err) });
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  async create(request: AlertRequest): Promise<Alert> {
    const alert = await api.createAlert(request, { fetch: this.options.fetch });
    if (!this.state.alerts.some((a) => a.id === alert.id)) this.set({ ...this.state, alerts: sortAlerts([...this.state.alerts, alert]) });
    return alert;
  }

  async remove(id: number): Promise<void> {
    try {
      await api.deleteAlert(id, { fetch: this.options.fetch });
    } catch (err) {
      // Deleted elsewhere already: the list forgets it all the same.
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    this.set({ ...this.state, alerts: this.state.alerts.filter((a) => a.id !== id) });
  }

  // ---- events ---------------------------------------------------------------------------------

  private fired(a: FiredAlert): void {
    if (!a || typeof a.id !== 'number') return;
    const known = this.state.alerts.find((x) => x.id === a.id);
    if (known?.triggeredAt !== null && known?.triggeredAt !== undefined) return; // told already (a reload raced the event)
    const alerts = sortAlerts(known ? this.state.alerts.map((x) => (x.id === a.id ? { ...x, ...a } : x)) : [...this.state.alerts, a]);
    this.set({ ...this.state, alerts });
    this.markSeen(Math.max(this.seenAt(), a.triggeredAt));
    this.tell({ alert: a, away: false });
  }

  private onConnection(c: ConnectionInfo): void {
    const live = c.state === 'live';
    // Back after a drop: alerts may have fired meanwhile.
    if (live && !this.wasLive && this.state.status !== 'loading') void this.load();
    this.wasLive = live;
  }

  private tell(news: AlertNews): void {
    for (const l of this.newsListeners) {
      try {
        l(news);
      } catch (err) {
        console.error('alert listener failed', err);
      }
    }
  }

  private set(state: AlertsState): void {
    this.state = state;
    for (const l of this.listeners) l();
  }

  private storage(): Pick<Storage, 'getItem' | 'setItem'> | null {
    if (this.options.storage !== undefined) return this.options.storage;
    try {
      return globalThis.localStorage ?? null;
    } catch {
      return null;
    }
  }

  private seenAt(): number {
    const v = Number(this.storage()?.getItem(SEEN_KEY) ?? 0);
    return Number.isFinite(v) ? v : 0;
  }

  private markSeen(at: number): void {
    try {
      this.storage()?.setItem(SEEN_KEY, String(at));
    } catch {
      /* private mode */
    }
  }

  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
    this.listeners.clear();
    this.newsListeners.clear();
  }
}

/** Waiting ones first (by pair, then price), then the fired ones, newest first. */
function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort((a, b) => {
    if ((a.triggeredAt === null) !== (b.triggeredAt === null)) return a.triggeredAt === null ? -1 : 1;
    if (a.triggeredAt !== null && b.triggeredAt !== null) return b.triggeredAt - a.triggeredAt;
    return a.pair.localeCompare(b.pair) || a.price - b.price;
  });
}

function message(err: unknown): string {
  return err instanceof ApiError ? err.message : String((err as Error)?.message ?? err);
}
