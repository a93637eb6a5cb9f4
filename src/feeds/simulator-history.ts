import type pg from 'pg';
import type { Tick } from '../core/tick.js';
import { TIMEFRAMES } from '../core/timeframe.js';
import { asEpochMs } from '../core/units.js';
import { tickTimeRange } from '../db/candle-repository.js';
import { insertTicks, toRow } from '../db/tick-repository.js';
import type { Logger } from '../observability/logger.js';
import type { CandleStore } from '../redis/candle-store.js';
import type { PairRegistry } from '../redis/pair-registry.js';
import { basePrice, gaussian, priceDecimals, REVERSION_PER_TICK, VOLATILITY_PER_TICK } from './simulator.js';

/** Past ticks are spaced by their age over this (dense near the start, sparse far back) ... */
const SPACING_PER_AGE = 1 / 400;
/** ... and at most this far apart: every 1H bar still gets dozens of ticks. */
const MAX_SPACING_MS = 60_000;

/**
 * The simulator's price walk run backwards from `endMs` (where the live simulator starts, at the
 * pair's base price) over `hours`, oldest tick first. The walk is the simulator's own
 * mean-reverting process, stepped exactly over each gap, so history and live prices join
 * seamlessly. Ticks are as dense as the live feed near the start and thin out with age (one every
 * age/400, at most a minute apart): every timeframe up to 1H has a tick in each of its last 200+
 * buckets, while a day of history stays about two thousand ticks.
 */
export function historyTicks(pair: string, endMs: number, hours: number, ticksPerMinute: number, random: () => number = Math.random): Tick[] {
  const meanGapMs = 60_000 / ticksPerMinute;
  const base = basePrice(pair);
  const decimals = priceDecimals(pair);
  // The walk's spread when left alone: a stationary Ornstein-Uhlenbeck process in log price.
  const spread = VOLATILITY_PER_TICK / Math.sqrt(2 * REVERSION_PER_TICK);
  const from = endMs - hours * 3_600_000;
  const out: Tick[] = [];
  let x = 0; // log(price / base)
  let t = endMs;
  for (let n = 0; ; n++) {
    const gap = Math.min(MAX_SPACING_MS, Math.max(meanGapMs, (endMs - t) * SPACING_PER_AGE)) * (0.5 + random());
    const next = Math.min(t - 1, Math.round(t - gap));
    if (next < from) break;
    const decay = Math.exp(-REVERSION_PER_TICK * (gap / meanGapMs));
    x = x * decay + spread * Math.sqrt(1 - decay * decay) * gaussian(random);
    t = next;
    out.push({ pair, price: Number((base * Math.exp(x)).toFixed(decimals)), timestamp: asEpochMs(t), id: `sim-history-${t}-${n}` });
  }
  return out.reverse();
}

export interface SimulatorHistoryOptions {
  pairs: readonly string[];
  /** SIMULATOR_HISTORY_HOURS; 0 writes nothing. */
  hours: number;
  ticksPerMinute: number;
  /** Where the live simulator starts (epoch ms): history ends just before it. */
  endMs: number;
  db: pg.Pool;
  candles: CandleStore;
  /** One instrument per symbol: history is written under the name the live ticks will carry. */
  registry: PairRegistry;
  /** Resolves true once the schema is in place. */
  schemaReady: Promise<boolean>;
  log: Logger;
  random?: () => number;
}

/**
 * A full chart on the very first start: for each simulated pair with no stored ticks from before
 * this start, writes past ticks straight to the database (as a CSV import does: one transaction
 * per pair, rollups included), then drops the pair's candle caches so the next read has them.
 * Runs in the background; start is not blocked. `close()` stops between pairs and waits.
 */
export class SimulatorHistory {
  readonly done: Promise<{ pair: string; ticks: number }[]>;
  private closed = false;

  constructor(private readonly options: SimulatorHistoryOptions) {
    this.done = options.hours > 0 ? this.run() : Promise.resolve([]);
  }

  private async run(): Promise<{ pair: string; ticks: number }[]> {
    const o = this.options;
    const written: { pair: string; ticks: number }[] = [];
    try {
      if (!(await o.schemaReady)) return written;
      for (const simulated of o.pairs) {
        if (this.closed) break;
        const [named] = await o.registry.canonicalizeAll([{ pair: simulated, price: 1, timestamp: asEpochMs(o.endMs) }]);
        const pair = named!.pair;
        const stored = await tickTimeRange(o.db, pair);
        if (stored && stored.first < o.endMs) continue; // it has a history of its own
        const started = Date.now();
        // The walk starts from the simulated pair's own price; the rows carry the canonical name.
        const ticks = historyTicks(simulated, o.endMs, o.hours, o.ticksPerMinute, o.random).map((t) => ({ ...t, pair }));
        const inserted = await insertTicks(o.db, ticks.map(toRow));
        await o.candles.invalidate(pair, TIMEFRAMES);
        written.push({ pair, ticks: inserted });
        o.log.info({ pair, ticks: inserted, hours: o.hours, ms: Date.now() - started }, 'simulator history written');
      }
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'simulator history not written');
    }
    return written;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.done;
  }
}
