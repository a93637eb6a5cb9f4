import { accessToken, authHeaders } from './access-token.js';
import { fileSafe, fileStamp, saveBlob, saveUrl } from './download.js';
import type { ImportErrorResponse, ImportResponse } from './types.js';

/** An import the server refused: its message and, for bad lines, which ones (nothing was written). */
export class CsvImportError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly invalidLines: readonly string[] = [],
    readonly invalid = 0,
  ) {
    super(message);
    this.name = 'CsvImportError';
  }
}

export interface UploadOptions {
  /** Import the valid lines and list the bad ones (else one bad line refuses the whole file). */
  skipInvalid: boolean;
  /** Bytes sent so far and the file's size. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
  baseUrl?: string;
  /** The server's INGEST_TOKEN, when it guards imports (else the page's access token goes). */
  ingestToken?: string | null;
}

/**
 * POST /api/import with the file as `text/csv`, through XMLHttpRequest so the upload reports its
 * progress. Resolves with `{ imported, duplicates, invalid }`; rejects with a CsvImportError that
 * names the bad lines when the server refused them.
 */
export function uploadCsv(file: Blob, options: UploadOptions): Promise<ImportResponse> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const url = `${options.baseUrl ?? ''}/api/import${options.skipInvalid ? '?skipInvalid=true' : ''}`;
    xhr.open('POST', url);
    xhr.setRequestHeader('content-type', 'text/csv');
    xhr.setRequestHeader('accept', 'application/json');
    const auth = options.ingestToken ? { authorization: `Bearer ${options.ingestToken}` } : authHeaders();
    for (const [k, v] of Object.entries(auth)) xhr.setRequestHeader(k, v);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => options.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new CsvImportError('The QuFLX server is not reachable', null));
    xhr.onabort = () => reject(new DOMException('The import was cancelled', 'AbortError'));
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300 && body && typeof (body as ImportResponse).imported === 'number') {
        options.onProgress?.(file.size, file.size);
        resolve(body as ImportResponse);
        return;
      }
      const e = body as Partial<ImportErrorResponse> | null;
      const message = typeof e?.error === 'string' ? e.error : `The import failed (HTTP ${xhr.status})`;
      reject(new CsvImportError(message, xhr.status, Array.isArray(e?.invalidLines) ? e.invalidLines : [], typeof e?.invalid === 'number' ? e.invalid : 0));
    };
    options.signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}

/** GET /api/export for a pair and time span (epoch ms, both inclusive). */
export function exportUrl(pair: string, fromMs: number, toMs: number, baseUrl = ''): string {
  const q = new URLSearchParams({ pair, from: String(Math.floor(fromMs)), to: String(Math.floor(toMs)) });
  return `${baseUrl}/api/export?${q.toString()}`;
}

export function exportFilename(pair: string, fromMs: number, toMs: number): string {
  return `${fileSafe(pair)}_${fileStamp(fromMs)}_${fileStamp(toMs)}.csv`;
}

/**
 * Downloads a pair's ticks as CSV. Without an access token the browser fetches the file itself
 * (streamed to disk, however large); with one, it is fetched with the token and saved from memory.
 */
export async function downloadExport(pair: string, fromMs: number, toMs: number): Promise<void> {
  const url = exportUrl(pair, fromMs, toMs);
  const name = exportFilename(pair, fromMs, toMs);
  if (!accessToken()) {
    saveUrl(url, name);
    return;
  }
  const res = await fetch(url, { headers: authHeaders() });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: string } | null;
    throw new Error(body?.error ?? `The export failed (HTTP ${res.status})`);
  }
  saveBlob(await res.blob(), name);
}
