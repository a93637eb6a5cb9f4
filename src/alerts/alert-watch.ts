import type pg from 'pg';
import { firesOn, type WatchedAlert } from '../core/alert-crossing.js';
import { AlertIndex } from '../core/alert-index.js';
import { toSymbol } from '../core/pair.js';
import type { Tick } from '../core/tick.js';
import { claimAlert, waitingAlert, waitingAlerts } from '../db/alert-repository.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ThrottledLog } from '../observability/throttled-log.js';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import type { TickStore } from '../redis/tick-store.js';
import type { FiredAlert } from '../shared/events.js';

/** A change notice on the alert-changes channel. */
export type AlertChange = { op: 'add'; alert: WatchedAlert } | { op: 'remove'; id: number };

export interface AlertWatchOptions {
  /** How often the waiting alerts are read again from the database (repairs missed notices). */
  reloadMs?: number;
  /** How long a claim is retried while the database does not answer; after that the alert waits for the next crossing. */
  claimRetryWindowMs?: number;
  /** Most recent ticks of a pair checked for an alert that was just learnt of (TICK_BUFFER_SIZE at most). */
  catchUpTicks: number;
}

export interface AlertWatchDeps {
  pool: pg.Pool;
  /** For publishing notices and fired alerts, and reading recent ticks. */
  redis: RedisClient;
  /** A connection in subscriber mode (the gateway's). */
  subscriber: RedisClient;
  keys: RedisKeys;
  store: TickStore;
  metrics: Metrics;
  log: Logger;
  options: AlertWatchOptions;
}

/** Fired alert ids remembered so each is announced to this process's clients once. */
const ANNOUNCED_CAP = 10_000;

/**
 * Checks every accepted tick of this process against the alerts that have not fired, and fires
 * each crossed one exactly once across all processes sharing the database: the claim is one
 * `UPDATE ... WHERE triggered_at IS NULL`, retried with capped backoff while the database is away.
 * The winner tells its own clients at once and publishes the alert on `alerts:fired`, from which
 * every other process tells its clients.
 *
 * Every process watches the same alerts: changes are announced on `alerts:changes`, and the
 * waiting alerts are read again every `reloadMs` and after the subscriber reconnects. An alert
 * learnt of late is checked against the pair's recent ticks accepted after it was made, so a
 * tick another process took meanwhile is not missed.
 */
export class AlertWatch {
  private readonly index = new AlertIndex();
  /** Claims in progress, by alert id. */
  private readonly claims = new Map<number, Promise<void>>();
  private readonly announced = new Set<number>();
  private readonly listeners: ((alert: FiredAlert) => void)[] = [];
  private readonly stop = new AbortController();
  private readonly failLog: ThrottledLog;
  private reloadTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;
  /** Alerts added, removed or claimed while a reload reads: its (older) view of them is not applied. */
  private readonly touched = new Set<number>();
  private started = false;
  private closed = false;

  constructor(private readonly deps: AlertWatchDeps) {
    this.failLog = new ThrottledLog(deps.log, 10_000);
    deps.metrics.alertsWatchedCount = () => this.index.size;
  }

  /** Called with every alert that fires, once each (wired to the Socket.IO gateway). */
  onFired(listener: (alert: FiredAlert) => void): void {
    this.listeners.push(listener);
  }

  /** Follows the alert channels, then loads the waiting alerts once the schema is in place, and every `reloadMs`. */
  async start(schemaReady: Promise<boolean>): Promise<void> {
    const { subscriber, keys } = this.deps;
    this.started = true;
    await subscriber.subscribe(keys.alertChanges(), this.onChange);
    await subscriber.subscribe(keys.alertsFired(), this.onFiredMessage);
    // Notices sent while the link was down are lost: read the whole set again.
    subscriber.on('ready', this.onReconnect);
    void schemaReady.then((ok) => {
      if (!ok || this.closed) return;
      void this.reload();
      this.reloadTimer = setInterval(() => void this.reload(), this.deps.options.reloadMs ?? 15_000);
      this.reloadTimer.unref();
    });
  }

  /** The ingest hook: newly accepted ticks. O(1) per tick until a price reaches a level. Never throws. */
  check(ticks: readonly Tick[]): void {
    if (this.index.size === 0) return;
    try {
      for (const tick of ticks) {
        const fired = this.index.take(tick);
        for (const alert of fired) this.claim(alert, tick);
      }
    } catch (err) {
      this.failLog.warn({ err: (err as Error).message }, 'alert check failed');
    }
  }

  /** Watches an alert (made here, or announced), first checking the ticks accepted since it was made. */
  watch(alert: WatchedAlert): void {
    if (this.closed || this.index.has(alert.id) || this.claims.has(alert.id)) return;
    this.touched.add(alert.id);
    this.index.add(alert);
    void this.catchUp([alert]);
  }

  unwatch(id: number): void {
    this.touched.add(id);
    this.index.remove(id);
  }

  /** Tells every process (this one included) of a change; best effort: a missed notice is repaired by the next reload. */
  async announce(change: AlertChange): Promise<void> {
    try {
      await this.deps.redis.publish(this.deps.keys.alertChanges(), JSON.stringify(change));
    } catch (err) {
      this.failLog.warn({ err: (err as Error).message }, 'could not announce an alert change; other processes see it at their next reload');
    }
  }

  /** Waiting alerts are re-read from the database; the index becomes that set (claims in progress aside). */
  reload(): Promise<void> {
    this.reloading ??= (async () => {
      this.touched.clear();
      try {
        const waiting = await waitingAlerts(this.deps.pool);
        if (this.closed) return;
        const ids = new Set(waiting.map((a) => a.id));
        for (const a of this.index.all()) if (!ids.has(a.id) && !this.touched.has(a.id)) this.index.remove(a.id);
        const fresh = waiting.filter((a) => !this.index.has(a.id) && !this.claims.has(a.id) && !this.touched.has(a.id));
        for (const a of fresh) this.index.add(a);
        if (fresh.length > 0) await this.catchUp(fresh);
      } catch (err) {
        this.failLog.warn({ err: (err as Error).message }, 'could not read the alerts from the database; watching the ones known');
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  /** Resolves once no claim is in progress (tests). */
  async settled(): Promise<void> {
    while (this.claims.size > 0) await Promise.allSettled([...this.claims.values()]);
  }

  /** How many alerts this process checks ticks against. */
  get watched(): number {
    return this.index.size;
  }

  private readonly onChange = (message: string): void => {
    const change = this.read<AlertChange>(message, this.deps.keys.alertChanges());
    if (change === null) return;
    if (change.op === 'remove') this.unwatch(change.id);
    else if (change.op === 'add') {
      // The notice says which alert; the database says whether it still waits (it may have fired or gone meanwhile).
      waitingAlert(this.deps.pool, change.alert.id).then(
        (a) => a && this.watch(a),
        () => this.watch(change.alert),
      );
    }
  };

  private readonly onFiredMessage = (message: string): void => {
    const alert = this.read<FiredAlert>(message, this.deps.keys.alertsFired());
    if (alert === null) return;
    this.unwatch(alert.id);
    this.tell(alert);
  };

  /** A channel message's JSON, or null (logged) when it cannot be read. */
  private read<T>(message: string, channel: string): T | null {
    try {
      return JSON.parse(message) as T;
    } catch {
      this.failLog.warn({ channel }, 'unreadable message on an alert channel');
      return null;
    }
  }

  private readonly onReconnect = (): void => {
    if (!this.closed) void this.reload();
  };

  /** Ticks accepted after these alerts were made that this process has not seen (another process took them, or they came before the alert reached us). */
  private async catchUp(alerts: readonly WatchedAlert[]): Promise<void> {
    const bySymbol = new Map<string, WatchedAlert[]>();
    for (const a of alerts) {
      const sym = toSymbol(a.pair);
      const list = bySymbol.get(sym);
      if (list) list.push(a);
      else bySymbol.set(sym, [a]);
    }
    for (const [sym, list] of bySymbol) {
      try {
        const { ticks } = await this.deps.store.snapshot(sym, this.deps.options.catchUpTicks);
        for (const alert of list) {
          const tick = ticks.find((t) => firesOn(alert, t));
          if (tick && this.index.remove(alert.id)) this.claim(alert, tick);
        }
      } catch (err) {
        this.failLog.warn({ err: (err as Error).message }, 'could not read recent ticks for new alerts; they fire on the next crossing tick');
      }
    }
  }

  private claim(alert: WatchedAlert, tick: { pair: string; price: number; timestamp: number }): void {
    if (this.claims.has(alert.id) || this.closed) return;
    this.touched.add(alert.id);
    this.index.remove(alert.id);
    const claim = this.claimWithRetry(alert, tick).finally(() => this.claims.delete(alert.id));
    this.claims.set(alert.id, claim);
  }

  private async claimWithRetry(alert: WatchedAlert, tick: { pair: string; price: number; timestamp: number }): Promise<void> {
    const { pool, metrics, log } = this.deps;
    const giveUpAt = Date.now() + (this.deps.options.claimRetryWindowMs ?? 600_000);
    for (let attempt = 0; !this.closed; attempt++) {
      let fired;
      try {
        fired = (await claimAlert(pool, alert.id, { price: tick.price, timestamp: tick.timestamp, pair: tick.pair }, Date.now())) as FiredAlert | null;
      } catch (err) {
        if (Date.now() >= giveUpAt) {
          // Still waiting in the database: the next reload watches it again, and a later crossing fires it.
          log.error({ alert: alert.id, err: (err as Error).message }, 'gave up claiming a crossed alert (database unreachable); it fires on a later crossing');
          return;
        }
        metrics.alertClaimRetries.inc();
        const delay = backoffDelay(attempt, 100, 5000);
        this.failLog.warn({ alert: alert.id, err: (err as Error).message, retryInMs: delay }, 'could not claim a crossed alert (database); retrying');
        await sleep(delay, this.stop.signal);
        continue;
      }
      if (fired === null) return; // another process fired it, or it was deleted
      metrics.alertsFired.inc();
      log.info({ alert: fired.id, pair: fired.pair, condition: fired.condition, level: fired.price, tick: fired.trigger }, 'price alert fired');
      this.tell(fired);
      try {
        await this.deps.redis.publish(this.deps.keys.alertsFired(), JSON.stringify(fired));
      } catch (err) {
        // This process's clients have it; the others' see it in GET /api/alerts.
        log.warn({ alert: fired.id, err: (err as Error).message }, 'could not publish a fired alert to the other processes (redis)');
      }
      return;
    }
  }

  /** Hands a fired alert to the listeners, once per alert. */
  private tell(alert: FiredAlert): void {
    if (this.announced.has(alert.id)) return;
    if (this.announced.size >= ANNOUNCED_CAP) this.announced.delete(this.announced.values().next().value!);
    this.announced.add(alert.id);
    for (const listener of this.listeners) {
      try {
        listener(alert);
      } catch (err) {
        this.failLog.warn({ err: (err as Error).message }, 'alert listener failed');
      }
    }
  }

  /** Stops watching; claims in progress end at their current step. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    const { subscriber, keys } = this.deps;
    if (this.started) {
      subscriber.off('ready', this.onReconnect);
      if (subscriber.isReady) {
        await subscriber.unsubscribe(keys.alertChanges(), this.onChange).catch(() => undefined);
        await subscriber.unsubscribe(keys.alertsFired(), this.onFiredMessage).catch(() => undefined);
      }
    }
    await Promise.allSettled([...this.claims.values()]);
    this.deps.metrics.alertsWatchedCount = null;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
