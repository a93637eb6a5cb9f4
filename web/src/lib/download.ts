/** Saves a blob as a file through the browser's download (an object URL on a link, revoked afterwards). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  saveUrl(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Downloads what a URL answers (the browser streams it to disk). */
export function saveUrl(url: string, filename: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
}

/** `EUR/USD_otc` -> `EURUSD_otc`-style names safe in a file name. */
export function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '');
}

/** `20241122-1530` in UTC: a sortable stamp for file names. */
export function fileStamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 16).replace(':', '')}`;
}
