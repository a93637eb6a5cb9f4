import { authHeaders } from './access-token.js';
import type { Alert, AlertRequest, AlertsResponse, AssetResponse, CandlesResponse, IndicatorsResponse, StoredTicksResponse, TicksResponse } from './types.js';

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
  /** A request with no answer after this long fails (so no view waits for good); default 15 s. */
  timeoutMs?: number;
}

function getJson<T>(path: string, params: Record<string, string | number | undefined>, options: ApiOptions = {}): Promise<T> {
  return request<T>('GET', path, params, undefined, options);
}

/** One API call: JSON in (for POST) and out; the server's `{ error }` becomes an ApiError. */
async function request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, params: Record<string, string | number | undefined>, body: unknown, options: ApiOptions = {}): Promise<T> {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  const query = new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString();
  const url = `${options.baseUrl ?? ''}${path}${query ? `?${query}` : ''}`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  // The caller's abort (a newer choice) and our own deadline, on one signal.
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, options.timeoutMs ?? 15_000);
  const forward = () => abort.abort();
  if (options.signal?.aborted) abort.abort();
  options.signal?.addEventListener('abort', forward);
  const failed = (err: unknown): never => {
    if (timedOut) throw new ApiError(`${path} did not answer in time`, null);
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('The QuFLX server is not reachable', null);
  };
  let res: Response;
  let answer: unknown = null;
  try {
    try {
      const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
      if (body !== undefined) headers['content-type'] = 'application/json';
      res = await doFetch(url, { method, signal: abort.signal, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      return failed(err);
    }
    if (res.status === 204) return undefined as T;
    try {
      answer = await res.json();
    } catch (err) {
      if (timedOut || (err as Error).name === 'AbortError') failed(err);
      /* not JSON */
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
  }
  if (!res.ok) {
    const message = (answer as { error?: unknown } | null)?.error;
    throw new ApiError(typeof message === 'string' ? message : `${path} answered ${res.status}`, res.status);
  }
  return answer as T;
}

export const api = {
  /** Candles oldest first; with `before` (epoch s) the page of `limit` candles before it. */
  candles: (pair: string, timeframe: string, limit: number | undefined, options?: ApiOptions & { before?: number }) =>
    getJson<CandlesResponse>('/api/candles', { pair, timeframe, limit, before: options?.before }, options),
  /** The recent ticks, oldest first. */
  ticks: (pair: string, limit: number, options?: ApiOptions) => getJson<TicksResponse>('/api/ticks', { pair, limit }, options),
  /** Stored ticks before `beforeMs`, oldest first (a page of the tick chart's history). */
  ticksBefore: (pair: string, beforeMs: number, limit: number, options?: ApiOptions) =>
    getJson<StoredTicksResponse>('/api/ticks', { pair, limit, before: beforeMs }, options),
  assets: (options?: ApiOptions) => getJson<AssetResponse[]>('/api/assets', {}, options),
  indicator: (pair: string, timeframe: string, name: string, params: Record<string, number>, limit: number, options?: ApiOptions & { before?: number }) =>
    getJson<IndicatorsResponse>('/api/indicators', { pair, timeframe, name, ...params, limit, before: options?.before }, options),
  alerts: (options?: ApiOptions) => getJson<AlertsResponse>('/api/alerts', {}, options),
  createAlert: (alert: AlertRequest, options?: ApiOptions) => request<Alert>('POST', '/api/alerts', {}, alert, options),
  deleteAlert: (id: number, options?: ApiOptions) => request<void>('DELETE', `/api/alerts/${encodeURIComponent(id)}`, {}, undefined, options),
};
