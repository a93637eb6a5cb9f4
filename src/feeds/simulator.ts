import { AsyncQueue } from '../lib/async-queue.js';
import type { Feed } from './feed.js';

/** Realistic mid prices for the default pairs; other pairs start at 1.0. */
const BASE_PRICES: Record<string, number> = {
  'EUR/USD': 1.0852,
  'GBP/USD': 1.2705,
  'USD/JPY': 149.52,
  'AUD/CAD': 0.9054,
  'EUR/JPY': 162.31,
  'USD/CHF': 0.8812,
  'AUD/USD': 0.6521,
  'NZD/USD': 0.5987,
  'USD/CAD': 1.3621,
  'GBP/JPY': 189.95,
};

export interface SimulatorOptions {
  pairs: string[];
  ticksPerMinute: number;
  /** For reproducible runs in tests. */
  random?: () => number;
  now?: () => number;
}

interface PairState {
  pair: string;
  base: number;
  price: number;
  decimals: number;
  nextAt: number;
}

/** The price walk, per tick: pull back to the base (log terms) and volatility. */
export const REVERSION_PER_TICK = 0.0005;
export const VOLATILITY_PER_TICK = 0.000015;

/** A pair's realistic mid price (1.0 for pairs we know nothing of) and the decimals it is quoted to. */
export function basePrice(pair: string): number {
  return BASE_PRICES[pair.replace(/_otc$/i, '')] ?? 1;
}
export function priceDecimals(pair: string): number {
  return /JPY/i.test(pair) ? 3 : 5;
}

/** Standard normal draw (Box-Muller). */
export function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Simulated OTC ticks: per pair a Poisson arrival stream at TICKS_PER_MINUTE and a mean-reverting
 * log random walk around a realistic price, quoted to 5 decimals (3 for JPY quotes).
 */
export class Simulator implements Feed {
  readonly source = 'simulator' as const;
  private readonly queue = new AsyncQueue<unknown[]>(1000);
  private readonly states: PairState[];
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly meanGapMs: number;
  private readonly runId = Date.now().toString(36);
  private counter = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: SimulatorOptions) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.meanGapMs = 60_000 / options.ticksPerMinute;
    const start = this.now();
    this.states = options.pairs.map((pair) => {
      const base = basePrice(pair);
      const decimals = priceDecimals(pair);
      return { pair, base, price: base, decimals, nextAt: start + this.gap() };
    });
    this.arm();
  }

  private gap(): number {
    return -Math.log(1 - this.random()) * this.meanGapMs;
  }

  private arm(): void {
    if (this.closed || this.states.length === 0) return;
    const next = Math.min(...this.states.map((s) => s.nextAt));
    this.timer = setTimeout(() => this.emitDue(), Math.max(0, next - this.now()));
  }

  private emitDue(): void {
    const now = this.now();
    const batch: unknown[] = [];
    for (const s of this.states) {
      // Cap per wake-up so a stalled event loop does not release a flood.
      for (let k = 0; s.nextAt <= now && k < 1000; k++) {
        batch.push(this.step(s, now));
        s.nextAt += this.gap();
      }
      if (s.nextAt <= now) s.nextAt = now + this.gap();
    }
    if (batch.length > 0) this.queue.push(batch);
    this.arm();
  }

  private step(s: PairState, now: number): unknown {
    // ~0.15 pip per tick on EUR/USD, with a weak pull back to the base so hours of running stay believable.
    const drift = REVERSION_PER_TICK * Math.log(s.base / s.price);
    s.price *= Math.exp(drift + VOLATILITY_PER_TICK * gaussian(this.random));
    const price = Number(s.price.toFixed(s.decimals));
    return { pair: s.pair, price, timestamp: now, id: `sim-${this.runId}-${++this.counter}` };
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown[]> {
    return this.queue[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.close();
  }
}
