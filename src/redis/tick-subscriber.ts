import type { SeqTick } from '../core/tick.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * Follows `updates:<SYM>` channels on a dedicated subscriber connection, one Redis subscription
 * per symbol however many local listeners want it. References and subscriptions are counted on
 * the same thing, the symbol: one channel carries every spelling of an instrument, so a listener
 * that leaves under one spelling never silences the others. node-redis resubscribes by itself
 * after a reconnect. On a cluster the channels are sharded (SSUBSCRIBE on the pair's slot
 * master; node-redis follows slot moves and failovers).
 */
export class TickSubscriber {
  private readonly refs = new Map<string, { count: number; ready: Promise<void> }>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly onTick: (sym: string, tick: SeqTick) => void,
    private readonly log: Logger,
  ) {}

  /** Follows the instrument `sym` (a symbol, see toSymbol); resolves once the channel is subscribed in Redis. */
  async add(sym: string): Promise<void> {
    const ref = this.refs.get(sym);
    if (ref) {
      ref.count++;
      return ref.ready;
    }
    const channel = this.keys.updates(sym);
    const listener = (message: string) => {
      try {
        this.onTick(sym, JSON.parse(message) as SeqTick);
      } catch (err) {
        this.log.warn({ err, channel }, 'unreadable message on updates channel');
      }
    };
    const ready = this.keys.cluster ? this.client.sSubscribe(channel, listener) : this.client.subscribe(channel, listener);
    const entry = { count: 1, ready };
    this.refs.set(sym, entry);
    try {
      await ready;
    } catch (err) {
      if (this.refs.get(sym) === entry) this.refs.delete(sym);
      throw err;
    }
  }

  async remove(sym: string): Promise<void> {
    const ref = this.refs.get(sym);
    if (!ref) return;
    if (--ref.count > 0) return;
    this.refs.delete(sym);
    if (!this.client.isReady) return;
    const channel = this.keys.updates(sym);
    await (this.keys.cluster ? this.client.sUnsubscribe(channel) : this.client.unsubscribe(channel)).catch(() => undefined);
  }

  has(sym: string): boolean {
    return this.refs.has(sym);
  }

  /** The symbols followed. */
  get symbols(): string[] {
    return [...this.refs.keys()];
  }
}
