import { io, type Socket } from 'socket.io-client';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import type { ClientToServerEvents, SeqTick, ServerToClientEvents, SubscribeAck } from '../../src/shared/events.js';
import type { Cleanups } from './cleanups.js';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A connected Socket.IO client that records every tick it is sent, per pair. */
export class TickCollector {
  readonly socket: TestSocket;
  readonly received = new Map<string, SeqTick[]>();
  events = 0;

  private constructor(url: string) {
    this.socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    this.socket.on('ticks', (ticks) => {
      this.events++;
      for (const t of ticks) {
        const list = this.received.get(t.pair) ?? [];
        list.push(t);
        this.received.set(t.pair, list);
      }
    });
  }

  static async connect(url: string): Promise<TickCollector> {
    const c = new TickCollector(url);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', () => resolve());
      c.socket.once('connect_error', reject);
    });
    return c;
  }

  subscribe(pair: string, timeframe?: string): Promise<SubscribeAck> {
    const req = timeframe ? { pair, timeframe } : { pair };
    return this.socket.timeout(5000).emitWithAck('subscribe', req);
  }

  ticks(pair: string): SeqTick[] {
    return this.received.get(pair) ?? [];
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Ticks with distinct timestamps and prices, so none is a duplicate of another. */
export function makeTicks(pair: string, n: number, start = Date.now() - 10_000): Tick[] {
  return Array.from({ length: n }, (_, i) => ({ pair, price: Number((1 + i / 100_000).toFixed(5)), timestamp: asEpochMs(start + i) }));
}

/** TickCollector.connect for a test file: each collector is closed after its test. */
export function collectorStarter(cleanups: Cleanups): (url: string) => Promise<TickCollector> {
  return async (url) => {
    const c = await TickCollector.connect(url);
    cleanups.push(() => c.close());
    return c;
  };
}
