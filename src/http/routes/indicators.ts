import type { FastifyInstance } from 'fastify';
import type { CandleService } from '../../candles/candle-service.js';
import { ValidationError, type FieldIssue } from '../../core/errors.js';
import { parseIndicatorRequest, warmupCandles, type IndicatorParams, type IndicatorSpec } from '../../core/indicators/catalog.js';
import { computeIndicator, type IndicatorPoint } from '../../core/indicators/indicator-series.js';
import type { Timeframe } from '../../core/timeframe.js';
import type { PairRegistry } from '../../redis/pair-registry.js';
import { MAX_INDICATOR_VALUES } from '../../shared/limits.js';
import { parseLimit, parseTime, requirePair } from '../query.js';
import { requireTimeframe } from './candles.js';

export const DEFAULT_INDICATOR_VALUES = 200;
export { MAX_INDICATOR_VALUES };
/**
 * Most candles one request reads: limit + warm-up. The catalog's ranges keep every indicator's
 * warm-up plus MAX_INDICATOR_VALUES under this, so the cap never cuts a warm-up short.
 */
export const MAX_INDICATOR_CANDLES = 20_000;

export interface IndicatorResponse {
  name: string;
  pair: string;
  timeframe: Timeframe;
  params: IndicatorParams;
  values: IndicatorPoint[];
}

/** Runs each check, collecting every ValidationError's details, so one 400 names all bad fields. */
function validateAll<T extends unknown[]>(checks: { [K in keyof T]: () => T[K] }): T {
  const issues: FieldIssue[] = [];
  const out = checks.map((check) => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.details);
      return undefined;
    }
  });
  if (issues.length > 0) {
    const fields = [...new Set(issues.map((i) => `"${i.field}"`))];
    throw new ValidationError(`Invalid query parameter${fields.length > 1 ? 's' : ''} ${fields.join(', ')}`, issues);
  }
  return out as T;
}

/**
 * `GET /api/indicators` without the HTTP: the latest `limit` values of the indicator, computed
 * over limit + warm-up candles so they agree with a computation over the pair's whole history.
 */
export async function indicatorValues(candles: CandleService, registry: PairRegistry, query: Record<string, unknown>): Promise<IndicatorResponse> {
  const [asked, timeframe, limit, before, spec] = validateAll<[string, Timeframe, number, number | undefined, IndicatorSpec]>([
    () => requirePair(query.pair),
    () => requireTimeframe(query.timeframe),
    () => parseLimit(query.limit, DEFAULT_INDICATOR_VALUES, MAX_INDICATOR_VALUES),
    () => parseTime(query.before, 'before', 'epoch seconds'),
    () => parseIndicatorRequest(query),
  ]);
  // A pair nobody sent has no values: answered without reading or caching anything.
  const pair = await registry.resolve(asked);
  if (pair === null) return { name: spec.name, pair: asked, timeframe, params: spec.params, values: [] };
  const wanted = Math.min(limit + warmupCandles(spec), MAX_INDICATOR_CANDLES);
  // With `before`: the values of a page of older candles (history paging), warmed up the same way.
  const { candles: bars } = before === undefined ? await candles.candles(pair, timeframe, wanted) : await candles.candlesBefore(pair, timeframe, wanted, before);
  const values = computeIndicator(spec, bars).slice(-limit);
  return { name: spec.name, pair, timeframe, params: spec.params, values };
}

export function registerIndicatorRoutes(app: FastifyInstance, deps: { candles: CandleService; registry: PairRegistry }): void {
  app.get('/api/indicators', async (request) => indicatorValues(deps.candles, deps.registry, request.query as Record<string, unknown>));
}
