import { describe, expect, test } from 'vitest';
import { parseView, viewSearch } from './view-url.js';

describe('deep links', () => {
  test('a full link, any case of timeframe, tick, every layout', () => {
    expect(parseView('?pair=EUR/USD_otc&tf=1d&layout=3')).toEqual({ pair: 'EUR/USD_otc', tf: '1D', layout: 3 });
    expect(parseView('?pair=EUR%2FUSD_otc&tf=TICK')).toEqual({ pair: 'EUR/USD_otc', tf: 'tick' });
    for (const layout of [1, 2, 3, 4]) expect(parseView(`?layout=${layout}`)).toEqual({ layout });
  });

  test('bad parts are left out, the rest kept', () => {
    expect(parseView('?pair=../x&tf=7M&layout=5')).toEqual({});
    expect(parseView('?pair=GBP/USD_otc&tf=&layout=two')).toEqual({ pair: 'GBP/USD_otc' });
    expect(parseView('')).toEqual({});
  });

  test('the URL of a view reads back as that view', () => {
    const view = { pair: 'USD/JPY_otc', tf: '5S' as const, layout: 2 as const };
    expect(viewSearch(view)).toBe('?pair=USD/JPY_otc&tf=5S&layout=2');
    expect(parseView(viewSearch(view))).toEqual(view);
    expect(viewSearch({ pair: null, tf: 'tick', layout: 1 })).toBe('?tf=tick&layout=1');
    expect(parseView(viewSearch({ pair: 'A&B', tf: '1M', layout: 1 }))).toEqual({ tf: '1M', layout: 1 }); // not a pair
  });
});
