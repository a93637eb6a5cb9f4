import { describe, expect, test } from 'vitest';
import { parseSubscribeRequest, parseUnsubscribeRequest, subscribeCost } from '../../src/core/subscribe-request.js';
import { MAX_INDICATORS_PER_SUBSCRIPTION as MAX_INDICATORS } from '../../src/shared/limits.js';

describe('parseSubscribeRequest', () => {
  test('a pair alone: ticks only', () => {
    expect(parseSubscribeRequest({ pair: 'EUR/USD_otc' })).toEqual({ ok: true, value: { pair: 'EUR/USD_otc', timeframe: null, indicators: [] } });
  });

  test('a timeframe in any case, indicators with their defaults filled in', () => {
    const r = parseSubscribeRequest({ pair: 'US.500', timeframe: '1m', indicators: [{ name: 'RSI' }, { name: 'ema', period: 50 }] });
    expect(r).toEqual({
      ok: true,
      value: {
        pair: 'US.500',
        timeframe: '1M',
        indicators: [
          { name: 'rsi', params: { period: 14 } },
          { name: 'ema', params: { period: 50 } },
        ],
      },
    });
  });

  test('null timeframe and indicators mean none', () => {
    expect(parseSubscribeRequest({ pair: 'A', timeframe: null, indicators: null })).toEqual({ ok: true, value: { pair: 'A', timeframe: null, indicators: [] } });
  });

  test.each([
    [null, 'subscribe takes an object { pair, timeframe? }'],
    [['EUR/USD_otc'], 'subscribe takes an object { pair, timeframe? }'],
    ['EUR/USD_otc', 'subscribe takes an object { pair, timeframe? }'],
    [{}, 'pair must be a string'],
    [{ pair: '' }, 'pair must not be empty'],
    [{ pair: 'EUR USD' }, 'pair must start with a letter or digit and contain only letters, digits, "/", "_", "-" and "."'],
    [{ pair: 'A', timeframe: '2M' }, 'timeframe must be one of 5S, 15S, 30S, 1M, 5M, 15M, 30M, 1H, 4H, 1D'],
    [{ pair: 'A', indicators: [{ name: 'rsi' }] }, 'indicators need a timeframe'],
    [{ pair: 'A', timeframe: '1M', indicators: { name: 'rsi' } }, `indicators must be an array of at most ${MAX_INDICATORS} objects like { name: "rsi", period: 14 }`],
    [{ pair: 'A', timeframe: '1M', indicators: Array(11).fill({ name: 'rsi' }) }, `indicators must be an array of at most ${MAX_INDICATORS} objects like { name: "rsi", period: 14 }`],
    [{ pair: 'A', timeframe: '1M', indicators: ['rsi'] }, 'indicators[0] must be an object like { name: "rsi", period: 14 }'],
  ])('%j -> %s', (request, error) => {
    expect(parseSubscribeRequest(request)).toEqual({ ok: false, error });
  });

  test('a bad indicator names its place, field and reason', () => {
    const r = parseSubscribeRequest({ pair: 'A', timeframe: '1M', indicators: [{ name: 'rsi' }, { name: 'rsi', period: 1 }] });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^indicators\[1\]: period /);
  });
});

describe('parseUnsubscribeRequest', () => {
  test('takes { pair }; anything else names the problem', () => {
    expect(parseUnsubscribeRequest({ pair: 'EURUSD_otc' })).toEqual({ ok: true, value: { pair: 'EURUSD_otc' } });
    expect(parseUnsubscribeRequest(null)).toEqual({ ok: false, error: 'pair must be a string' });
    expect(parseUnsubscribeRequest({ pair: '*' })).toMatchObject({ ok: false, error: expect.stringMatching(/^pair must start/) });
  });
});

describe('subscribeCost', () => {
  test('1, plus 1 per indicator; a refused request costs 1', () => {
    expect(subscribeCost(parseSubscribeRequest({ pair: 'A' }))).toBe(1);
    expect(subscribeCost(parseSubscribeRequest({ pair: 'A', timeframe: '1M', indicators: [{ name: 'rsi' }, { name: 'macd' }] }))).toBe(3);
    expect(subscribeCost(parseSubscribeRequest({ pair: 'A', timeframe: 'bad' }))).toBe(1);
  });
});
