import { vi } from 'vitest';

/** A fetch that answers each URL from `answer` (a JSON body, and a status) and records every URL asked. */
export function fakeFetch(answer: (url: URL) => { status?: number; body: unknown }) {
  const urls: URL[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL) => {
    const url = new URL(String(input), 'http://quflx.test');
    urls.push(url);
    const { status = 200, body } = answer(url);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  });
  return { fetch: fn as unknown as typeof fetch, urls };
}
