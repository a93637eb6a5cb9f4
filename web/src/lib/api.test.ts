import { describe, expect, test } from 'vitest';
import { api, ApiError } from './api.js';

/** A fetch that never answers, but gives up when its signal aborts (as the real one does). */
const silent = ((_url: string, init: RequestInit) =>
  new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))))) as unknown as typeof fetch;

describe('api', () => {
  test('a request with no answer fails after its deadline, so no view waits for good', async () => {
    const err = await api.candles('EUR/USD_otc', '1M', undefined, { fetch: silent, timeoutMs: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('/api/candles did not answer in time');
  });

  test("the caller's abort is an AbortError (a newer choice), not a failure to show", async () => {
    const abort = new AbortController();
    const pending = api.ticks('EUR/USD_otc', 10, { fetch: silent, signal: abort.signal });
    abort.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('the server message of an error answer; before= in the query', async () => {
    const urls: string[] = [];
    const answer = (async (url: string) => {
      urls.push(url);
      return new Response(JSON.stringify({ error: 'Invalid query parameter "before"' }), { status: 400 });
    }) as unknown as typeof fetch;
    await expect(api.candles('EUR/USD_otc', '1M', 500, { fetch: answer, before: 1_700_000_000 })).rejects.toMatchObject({
      message: 'Invalid query parameter "before"',
      status: 400,
    });
    expect(urls).toEqual(['/api/candles?pair=EUR%2FUSD_otc&timeframe=1M&limit=500&before=1700000000']);
  });
});
