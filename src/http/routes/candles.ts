import type { FastifyInstance } from 'fastify';
import type { CandleService } from '../../candles/candle-service.js';
import { ValidationError } from '../../core/errors.js';
import { parseTimeframe, TIMEFRAMES, type Timeframe } from '../../core/timeframe.js';
import type { PairRegistry } from '../../redis/pair-registry.js';
import { MAX_CANDLES } from '../../shared/limits.js';
import type { CandlesResponse } from '../../shared/http.js';
import { parseLimit, parseTime, requirePair } from '../query.js';

export { MAX_CANDLES };

export function requireTimeframe(value: unknown, fallback: Timeframe = '1M'): Timeframe {
  if (value === undefined || value === '') return fallback;
  const tf = parseTimeframe(value);
  if (!tf) {
    throw new ValidationError('Invalid query parameter "timeframe"', [
      { index: 0, field: 'timeframe', message: `must be one of ${TIMEFRAMES.join(', ')} (any case)` },
    ]);
  }
  return tf;
}

export function registerCandleRoutes(app: FastifyInstance, deps: { candles: CandleService; registry: PairRegistry; cacheSize: number }): void {
  app.get('/api/candles', async (request) => {
    const q = request.query as Record<string, unknown>;
    const asked = requirePair(q.pair);
    const timeframe = requireTimeframe(q.timeframe);
    const limit = parseLimit(q.limit, deps.cacheSize, MAX_CANDLES);
    const before = parseTime(q.before, 'before', 'epoch seconds');
    // A pair nobody sent has no candles: answered without reading or caching anything.
    const pair = await deps.registry.resolve(asked);
    if (pair === null) {
      const none: CandlesResponse = { pair: asked, timeframe, source: 'database', candles: [] };
      return none;
    }
    const { source, candles } =
      before === undefined ? await deps.candles.candles(pair, timeframe, limit) : await deps.candles.candlesBefore(pair, timeframe, limit, before);
    const answer: CandlesResponse = { pair, timeframe, source, candles };
    return answer;
  });
}
