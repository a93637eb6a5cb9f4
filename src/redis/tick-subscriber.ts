import type { SeqTick } from '../core/tick.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * Follows `updates:<SYM>` channels on a dedicated subscriber connection, one Redis subscription
 * per pair however many local listeners want it (reference counted). node-redis resubscribes
 * by itself after a reconnect.
 */
export class TickSubscriber {
  private readonly refs = new Map<string, { count: number; ready: Promise<void> }>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly onTick: (tick: SeqTick) => void,
    private readonly log: Logger,
  ) {}

  /** Resolves once the channel is subscribed in Redis. */
  async add(pair: string): Promise<void> {
    const ref = this.refs.get(pair);
    if (ref) {
      ref.count++;
      return ref.ready;
    }
    const ready = this.client.subscribe(this.keys.updates(pair), (message) => {
      try {
        this.onTick(JSON.parse(message) as SeqTick);
      } catch (err) {
        this.log.warn({ err, channel: this.keys.updates(pair) }, 'unreadable message on updates channel');
      }
    });
    const entry = { count: 1, ready };
    this.refs.set(pair, entry);
    try {
      await ready;
    } catch (err) {
      if (this.refs.get(pair) === entry) this.refs.delete(pair);
      throw err;
    }
  }

  async remove(pair: string): Promise<void> {
    const ref = this.refs.get(pair);
    if (!ref) return;
    if (--ref.count > 0) return;
    this.refs.delete(pair);
    if (this.client.isReady) await this.client.unsubscribe(this.keys.updates(pair)).catch(() => undefined);
  }

  get pairs(): string[] {
    return [...this.refs.keys()];
  }
}
