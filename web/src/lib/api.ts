import { authHeaders } from './access-token.js';
import type { Asset, CandlesResponse, IndicatorsResponse, SeqTick } from './types.js';

/** An HTTP error with the server's message (`{ error }`) or a description of what failed. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Fetch = typeof fetch;

export interface ApiOptions {
  fetch?: Fetch;
  signal?: AbortSignal;
  baseUrl?: string;
}

async function getJson<T>(path: string, params: Record<string, string | number | undefined>, options: ApiOptions = {}): Promise<T> {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  const query = new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString();
  const url = `${options.baseUrl ?? ''}${path}${query ? `?${query}` : ''}`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    res = await doFetch(url, { signal: options.signal, headers: { accept: 'application/json', ...authHeaders() } });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('The QuFLX server is not reachable', null);
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const message = (body as { error?: unknown } | null)?.error;
    throw new ApiError(typeof message === 'string' ? message : `${path} answered ${res.status}`, res.status);
  }
  return body as T;
}

export const api = {
  candles: (pair: string, timeframe: string, limit: number | undefined, options?: ApiOptions) =>
    getJson<CandlesResponse>('/api/candles', { pair, timeframe, limit }, options),
  ticks: (pair: string, limit: number, options?: ApiOptions) => getJson<SeqTick[]>('/api/ticks', { pair, limit }, options),
  assets: (options?: ApiOptions) => getJson<Asset[]>('/api/assets', {}, options),
  indicator: (pair: string, timeframe: string, name: string, params: Record<string, number>, limit: number, options?: ApiOptions) =>
    getJson<IndicatorsResponse>('/api/indicators', { pair, timeframe, name, ...params, limit }, options),
};
