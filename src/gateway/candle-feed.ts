import type { CandleService } from '../candles/candle-service.js';
import { bucketTime, sameBar, toCandle, type Candle } from '../core/candle.js';
import { warmupCandles, type IndicatorSpec } from '../core/indicators/catalog.js';
import { computeIndicator, LiveIndicator, type IndicatorPoint, type IndicatorValue } from '../core/indicators/indicator-series.js';
import type { SeqTick } from '../core/tick.js';
import type { Timeframe } from '../core/timeframe.js';
import type { Logger } from '../observability/logger.js';
import type { CandleStore } from '../redis/candle-store.js';
import type { CandleEvent } from '../shared/events.js';
import { indicatorKey } from '../shared/indicator-key.js';

/** The room of an instrument's live candles of one timeframe: by symbol, like its tick room. */
export const candleRoom = (sym: string, tf: Timeframe) => `candles:${sym}:${tf}`;

/** Canonical name of an indicator with its parameters (the contract's, shared with the browser). */
export { indicatorKey };

/** Most candles read to warm indicators up (as the HTTP route). */
const MAX_CANDLES = 20_000;

/** Most buckets a new subscriber is sent to catch up (the newest). */
const MAX_CATCH_UP = 50;

interface Stream {
  /** The instrument's canonical pair name (taken from its ticks once they come). */
  pair: string;
  /** Sockets following this pair/timeframe. */
  sockets: number;
  /** Live indicators by key, with how many sockets asked for each. */
  indicators: Map<string, { live: LiveIndicator; refs: number }>;
  /** Updates run one after another, so an older state never overtakes a newer. */
  chain: Promise<void>;
}

/**
 * Live candles for subscribers, per instrument (keyed by symbol) and timeframe: after each fan-out
 * of an instrument's ticks, the buckets those ticks
 * touched are read from the shared Redis candle cache (so every process sends the same candle,
 * late ticks included) and sent as `candle` events to the pair/timeframe room, in time order,
 * with the values of the indicators its subscribers asked for. Indicators are streamed:
 * `add()` for a new candle, `replace()` for the forming one; a repaired older candle reseeds them.
 */
export class CandleFeed {
  private readonly streams = new Map<string, Stream>();

  constructor(
    /** Sends one event to a room. */
    private readonly send: (room: string, event: CandleEvent) => void,
    private readonly store: CandleStore,
    private readonly service: CandleService,
    private readonly cacheSize: number,
    private readonly log: Logger,
  ) {}

  /**
   * Joins a subscriber: candle history (cache-first; fills the cache that live updates read) and,
   * per indicator asked for, its values over that history. `pair` is the instrument's canonical
   * name, or null when it has no data yet (nothing is read, and no cache is made for it).
   */
  async add(
    sym: string,
    pair: string | null,
    tf: Timeframe,
    specs: IndicatorSpec[],
  ): Promise<{ candles: Candle[]; indicators: Record<string, IndicatorPoint[]> }> {
    const warmup = Math.max(0, ...specs.map(warmupCandles));
    const history = pair === null ? [] : (await this.service.candles(pair, tf, Math.min(MAX_CANDLES, this.cacheSize + warmup))).candles;
    const stream = this.stream(sym, pair ?? sym, tf);
    if (pair !== null) stream.pair = pair;
    stream.sockets++;
    const indicators: Record<string, IndicatorPoint[]> = {};
    for (const spec of specs) {
      const key = indicatorKey(spec);
      let entry = stream.indicators.get(key);
      if (!entry) {
        const live = new LiveIndicator(spec);
        live.seed(history);
        stream.indicators.set(key, (entry = { live, refs: 0 }));
      }
      entry.refs++;
      indicators[key] = computeIndicator(spec, history).slice(-this.cacheSize);
    }
    return { candles: history.slice(-this.cacheSize), indicators };
  }

  remove(sym: string, tf: Timeframe, keys: readonly string[]): void {
    const id = `${sym}\n${tf}`;
    const stream = this.streams.get(id);
    if (!stream) return;
    for (const key of keys) {
      const entry = stream.indicators.get(key);
      if (entry && --entry.refs <= 0) stream.indicators.delete(key);
    }
    if (--stream.sockets <= 0) this.streams.delete(id);
  }

  private stream(sym: string, pair: string, tf: Timeframe): Stream {
    const id = `${sym}\n${tf}`;
    let s = this.streams.get(id);
    if (!s) this.streams.set(id, (s = { pair, sockets: 0, indicators: new Map(), chain: Promise.resolve() }));
    return s;
  }

  /**
   * A subscriber joined the room after its snapshot was read (`add`, then the tick snapshot): the
   * ticks that came in between are in neither its candles (`known`) nor an event it got, so a bar
   * that closed meanwhile would stay short on its screen. Sends it alone, after the events already
   * queued, each bucket from its newest candle on that `ticks` (its tick snapshot and the ones
   * fanned out before it joined) fall in, as it is now, where it differs from what it has. The
   * indicator values ride along where the live indicators reach that bucket.
   */
  catchUp(sym: string, tf: Timeframe, known: readonly Candle[], ticks: readonly SeqTick[], send: (event: CandleEvent) => void): void {
    const stream = this.streams.get(`${sym}\n${tf}`);
    if (!stream) return;
    const newest = known.at(-1);
    const buckets = new Set<number>(newest ? [newest.time] : []);
    for (const t of ticks) {
      const time = bucketTime(t.timestamp, tf);
      if (!newest || time >= newest.time) buckets.add(time);
    }
    const times = [...buckets].sort((a, b) => a - b).slice(-MAX_CATCH_UP);
    if (times.length === 0) return;
    stream.chain = stream.chain.then(async () => {
      const pair = stream.pair;
      try {
        for (const state of await this.store.readStates(pair, tf, times)) {
          const candle = toCandle(state);
          if (newest && candle.time === newest.time && sameBar(candle, newest)) continue;
          const event: CandleEvent = { pair, timeframe: tf, candle };
          if (stream.indicators.size > 0) event.indicators = await this.indicatorValues(pair, tf, stream, candle, false);
          send(event);
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message, pair, tf }, 'candles for a new subscriber failed');
      }
    });
  }

  /** Called with each fan-out batch of an instrument (seq order; the ticks carry its canonical name). */
  onTicks(sym: string, ticks: readonly SeqTick[]): void {
    for (const [id, stream] of this.streams) {
      const [s, tf] = id.split('\n') as [string, Timeframe];
      if (s !== sym) continue;
      stream.pair = ticks[0]!.pair;
      const times = [...new Set(ticks.map((t) => bucketTime(t.timestamp, tf)))].sort((a, b) => a - b);
      stream.chain = stream.chain.then(() => this.emit(sym, tf, stream, times));
    }
  }

  private async emit(sym: string, tf: Timeframe, stream: Stream, times: number[]): Promise<void> {
    const pair = stream.pair;
    try {
      let states = await this.store.readStates(pair, tf, times);
      if (states.length === 0) {
        // The cache expired while subscribed (or was never made): fill it (it then includes these ticks) and read again.
        await this.service.candles(pair, tf, this.cacheSize);
        states = await this.store.readStates(pair, tf, times);
      }
      for (const state of states) {
        const candle = toCandle(state);
        const event: CandleEvent = { pair, timeframe: tf, candle };
        if (stream.indicators.size > 0) event.indicators = await this.indicatorValues(pair, tf, stream, candle);
        this.send(candleRoom(sym, tf), event);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message, pair, tf }, 'live candle update failed');
    }
  }

  /** `reseed` false: an indicator already past the candle is left out (not recomputed). */
  private async indicatorValues(pair: string, tf: Timeframe, stream: Stream, candle: Candle, reseed = true): Promise<Record<string, IndicatorValue | null>> {
    const values: Record<string, IndicatorValue | null> = {};
    for (const [key, { live }] of stream.indicators) {
      if (!reseed && live.lastTime !== null && candle.time < live.lastTime) continue;
      let update = live.update(candle);
      if (update.reseed) {
        // A late tick changed an older candle: recompute from history once, then go on streaming.
        const history = (await this.service.candles(pair, tf, Math.min(MAX_CANDLES, this.cacheSize + warmupCandles(live.spec)))).candles;
        live.seed(history.filter((c) => c.time <= candle.time));
        update = { reseed: false, point: live.value };
      }
      values[key] = update.point && update.point.time === candle.time ? update.point.value : null;
    }
    return values;
  }
}
