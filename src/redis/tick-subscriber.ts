import type { SeqTick } from '../core/tick.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';

/** How long a lost sharded subscription waits for its slot move to settle before it is made again. */
const SETTLE_MS = 1000;

/**
 * Follows `updates:<SYM>` channels on a dedicated subscriber connection, one Redis subscription
 * per symbol however many local listeners want it. References and subscriptions are counted on
 * the same thing, the symbol: one channel carries every spelling of an instrument, so a listener
 * that leaves under one spelling never silences the others. node-redis resubscribes by itself
 * after a reconnect. On a cluster the channels are sharded (SSUBSCRIBE on the pair's slot
 * master); node-redis follows slot moves and failovers, and when its own move of a subscription
 * fails (it asked a node that did not know the slot's new owner yet) the subscription is made
 * again here, with capped backoff, so a channel is never silently dropped.
 */
export class TickSubscriber {
  private readonly refs = new Map<string, Ref>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly onTick: (sym: string, tick: SeqTick) => void,
    private readonly log: Logger,
  ) {
    if (keys.cluster) client.on('sharded-channel-moved-error', (err: Error, channel: string) => this.resubscribe(channel, err));
  }

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
    const entry: Ref = { count: 1, ready, channel, listener, retrying: false };
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

  /** Subscribes `channel` again after node-redis failed to move it, until it works or nobody follows it. */
  private async resubscribe(channel: string, err: Error): Promise<void> {
    const ref = [...this.refs.values()].find((r) => r.channel === channel);
    if (!ref || ref.retrying) return;
    ref.retrying = true;
    this.log.warn({ channel, err: err.message }, 'sharded subscription lost in a slot move; subscribing again');
    for (let attempt = 0; [...this.refs.values()].includes(ref); attempt++) {
      // Let the move settle first: until every node knows the slot's owner, a subscribe can land
      // where node-redis already holds the listener from its failed attempt and send nothing.
      await new Promise((r) => setTimeout(r, attempt === 0 ? SETTLE_MS : backoffDelay(attempt, 100, 5000)));
      try {
        // This link sends no keyed commands, so nothing else makes node-redis learn the slot's new
        // owner: a read of a key of that slot (the channel's name; no such key) is answered MOVED,
        // which makes it read the cluster's slots again before the unsubscribe below picks a node.
        await this.client.exists(channel).catch(() => undefined);
        // node-redis may have kept the listener on the new owner's link although the SSUBSCRIBE
        // it sent there failed (the node did not know yet that it owns the slot): then a plain
        // subscribe would think itself done and send nothing. Clear it first.
        await this.client.sUnsubscribe(channel).catch(() => undefined);
        await this.client.sSubscribe(channel, ref.listener);
        this.log.info({ channel, attempt }, 'sharded subscription made again');
        break;
      } catch (e) {
        this.log.warn({ channel, attempt, err: (e as Error).message }, 'sharded subscription not made again yet; retrying');
      }
    }
    ref.retrying = false;
  }

  has(sym: string): boolean {
    return this.refs.has(sym);
  }

  /** The symbols followed. */
  get symbols(): string[] {
    return [...this.refs.keys()];
  }
}

interface Ref {
  count: number;
  ready: Promise<void>;
  channel: string;
  listener: (message: string) => void;
  /** A resubscribe after a failed slot move is under way. */
  retrying: boolean;
}
