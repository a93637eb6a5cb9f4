/**
 * The Socket.IO `subscribe` / `unsubscribe` requests, checked: pure, no I/O. A request is
 * whatever JSON a client sent; the answer is the request in QuFLX's terms or a message a person
 * can act on.
 */
import { ValidationError } from './errors.js';
import { parseIndicatorRequest, type IndicatorSpec } from './indicators/catalog.js';
import { pairProblem } from './pair.js';
import { parseTimeframe, TIMEFRAMES, type Timeframe } from './timeframe.js';
import { MAX_INDICATORS_PER_SUBSCRIPTION as MAX_INDICATORS } from '../shared/limits.js';

export interface SubscribeSpec {
  pair: string;
  /** Live candles of this timeframe; null: ticks only. */
  timeframe: Timeframe | null;
  /** Indicators riding along with the candles (empty without a timeframe). */
  indicators: IndicatorSpec[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ pair, timeframe?, indicators? }` -> SubscribeSpec, or the first thing wrong with it. */
export function parseSubscribeRequest(request: unknown): Checked<SubscribeSpec> {
  if (!isObject(request)) return fail('subscribe takes an object { pair, timeframe? }');
  const { pair, timeframe, indicators } = request;
  const problem = pairProblem(pair);
  if (problem) return fail(`pair ${problem}`);
  let tf: Timeframe | null = null;
  if (timeframe !== undefined && timeframe !== null) {
    tf = parseTimeframe(timeframe);
    if (!tf) return fail(`timeframe must be one of ${TIMEFRAMES.join(', ')}`);
  }
  const specs: IndicatorSpec[] = [];
  if (indicators !== undefined && indicators !== null) {
    if (!tf) return fail('indicators need a timeframe');
    if (!Array.isArray(indicators) || indicators.length > MAX_INDICATORS) {
      return fail(`indicators must be an array of at most ${MAX_INDICATORS} objects like { name: "rsi", period: 14 }`);
    }
    for (const [i, item] of indicators.entries()) {
      if (!isObject(item)) return fail(`indicators[${i}] must be an object like { name: "rsi", period: 14 }`);
      try {
        specs.push(parseIndicatorRequest(item));
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        return fail(`indicators[${i}]: ${err.details.map((d) => `${d.field} ${d.message}`).join('; ')}`);
      }
    }
  }
  return { ok: true, value: { pair: pair as string, timeframe: tf, indicators: specs } };
}

/** `{ pair }` -> the pair, or what is wrong with it. */
export function parseUnsubscribeRequest(request: unknown): Checked<{ pair: string }> {
  const pair = isObject(request) ? request.pair : undefined;
  const problem = pairProblem(pair);
  return problem ? fail(`pair ${problem}`) : { ok: true, value: { pair: pair as string } };
}

/**
 * What a subscribe costs under the per-socket rate limit: 1, plus 1 per indicator (each is
 * computed over the candle history and sent in the ack). A refused request costs 1.
 */
export function subscribeCost(request: Checked<SubscribeSpec>): number {
  return request.ok ? 1 + request.value.indicators.length : 1;
}
