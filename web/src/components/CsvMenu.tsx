import { useRef, useState } from 'react';
import { usePopover } from '../hooks/usePopover.js';
import { CsvImportError, uploadCsv } from '../lib/csv-transfer.js';
import type { ImportResponse } from '../lib/types.js';

type ImportState =
  | { phase: 'sending'; name: string; sent: number; total: number }
  | { phase: 'done'; name: string; result: ImportResponse }
  | { phase: 'failed'; name: string; error: string; lines: readonly string[]; invalid: number; file: File; status: number | null };

/** The server's INGEST_TOKEN, once given, for this tab only (imports are guarded like ingest). */
const TOKEN_KEY = 'quflx.ingestToken';
function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/**
 * CSV in the page: Import uploads a tick file (the CLI's format and rules) with a progress bar and
 * shows what was imported, or the lines the server refused; Export downloads the pair's ticks for
 * the span the chart shows.
 */
export function CsvMenu({ onImported, onExport, exportDisabled }: { onImported: (r: ImportResponse) => void; onExport: () => Promise<void>; exportDisabled: boolean }) {
  const { open, setOpen, toggle, rootRef } = usePopover();
  const fileRef = useRef<HTMLInputElement>(null);
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [state, setState] = useState<ImportState | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);

  const [token, setToken] = useState('');
  const start = (file: File, ingestToken: string | null = storedToken()) => {
    setOpen(false);
    const abort = (abortRef.current = new AbortController());
    setState({ phase: 'sending', name: file.name, sent: 0, total: file.size });
    uploadCsv(file, { skipInvalid, ingestToken, signal: abort.signal, onProgress: (sent, total) => setState((s) => (s?.phase === 'sending' ? { ...s, sent, total } : s)) }).then(
      (result) => {
        setState({ phase: 'done', name: file.name, result });
        onImported(result);
      },
      (err: Error) => {
        if (err.name === 'AbortError') {
          setState(null);
          return;
        }
        const e = err instanceof CsvImportError ? err : new CsvImportError(err.message, null);
        setState({ phase: 'failed', name: file.name, error: e.message, lines: e.invalidLines, invalid: e.invalid, file, status: e.status });
      },
    );
  };

  return (
    <>
      <div className="menu" ref={rootRef}>
        <button type="button" className={`tool-button${open ? ' active' : ''}`} aria-haspopup="true" aria-expanded={open} onClick={toggle} data-menu="csv" title="Import or export ticks as CSV">
          <svg viewBox="0 0 16 16" aria-hidden="true">
            <path d="M4 1.5h5.5L13 5v9.5H4zM9 1.5V5.5h4M6 9.5l2 2 2-2M8 11.5V7" fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round" strokeLinecap="round" />
          </svg>
          <span className="tool-label">CSV</span>
        </button>
        {open && (
          <div className="menu-popover list-popover csv-popover" role="menu">
            <button type="button" role="menuitem" className="menu-entry" data-action="import" onClick={() => fileRef.current?.click()}>
              Import CSV…
            </button>
            <label className="menu-item small">
              <input type="checkbox" checked={skipInvalid} onChange={(e) => setSkipInvalid(e.target.checked)} />
              Skip invalid lines
            </label>
            <button
              type="button"
              role="menuitem"
              className="menu-entry"
              data-action="export"
              disabled={exportDisabled}
              title={exportDisabled ? 'Export needs a candle chart with bars' : 'The ticks of the visible range'}
              onClick={() => {
                setOpen(false);
                setExportError(null);
                onExport().catch((err: Error) => setExportError(err.message));
              }}
            >
              Export CSV (visible range)
            </button>
            <div className="menu-note">Columns pair, price, timestamp, id: the CLI's format.</div>
          </div>
        )}
        <input
          ref={fileRef}
          type="file"
          accept=".csv,text/csv"
          hidden
          data-csv-input
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) start(file);
          }}
        />
      </div>
      {(state || exportError) && (
        <div className="csv-dialog" role="dialog" aria-label="CSV import" data-import-phase={state?.phase ?? 'export-error'}>
          {state?.phase === 'sending' && (
            <>
              <div className="csv-title">Importing {state.name}</div>
              <progress max={Math.max(state.total, 1)} value={state.sent} aria-label="Upload progress" />
              <div className="muted">
                {state.sent >= state.total ? 'Uploaded; the server is storing the ticks…' : `${formatBytes(state.sent)} of ${formatBytes(state.total)}`}
              </div>
              <div className="csv-actions">
                <button type="button" className="link" onClick={() => abortRef.current?.abort()}>
                  Cancel
                </button>
              </div>
            </>
          )}
          {state?.phase === 'done' && (
            <>
              <div className="csv-title">Imported {state.name}</div>
              <div className="csv-result" data-imported={state.result.imported} data-duplicates={state.result.duplicates} data-invalid={state.result.invalid}>
                <span>
                  <b>{state.result.imported}</b> new ticks
                </span>
                <span>
                  <b>{state.result.duplicates}</b> duplicates
                </span>
                <span>
                  <b>{state.result.invalid}</b> invalid lines skipped
                </span>
              </div>
              <BadLines lines={state.result.invalidLines ?? []} total={state.result.invalid} />
              {state.result.warning && <div className="warn-text">{state.result.warning}</div>}
            </>
          )}
          {state?.phase === 'failed' && (
            <>
              <div className="csv-title warn">Nothing imported from {state.name}</div>
              <div className="field-error">{state.error}</div>
              <BadLines lines={state.lines} total={state.invalid} />
              {state.invalid > 0 && <div className="muted">Fix these lines, or import again with “Skip invalid lines”.</div>}
              {state.status === 401 && (
                <form
                  className="token-form"
                  onSubmit={(e) => {
                    e.preventDefault();
                    try {
                      sessionStorage.setItem(TOKEN_KEY, token);
                    } catch {
                      /* kept for this try only */
                    }
                    start(state.file, token);
                  }}
                >
                  <input type="password" className="note-input" placeholder="INGEST_TOKEN" aria-label="Ingest token" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
                  <button type="submit" className="button small" disabled={token === ''}>
                    Import again
                  </button>
                </form>
              )}
            </>
          )}
          {!state && exportError && (
            <>
              <div className="csv-title warn">Export failed</div>
              <div className="field-error">{exportError}</div>
            </>
          )}
          {state?.phase !== 'sending' && (
            <div className="csv-actions">
              <button
                type="button"
                className="button small"
                onClick={() => {
                  setState(null);
                  setExportError(null);
                }}
              >
                Close
              </button>
            </div>
          )}
        </div>
      )}
    </>
  );
}

function BadLines({ lines, total }: { lines: readonly string[]; total: number }) {
  if (lines.length === 0) return null;
  return (
    <div className="bad-lines">
      <div className="muted">{total > lines.length ? `The first ${lines.length} of ${total} bad lines:` : 'Bad lines:'}</div>
      <ul>
        {lines.map((l, i) => (
          <li key={i}>{l}</li>
        ))}
      </ul>
    </div>
  );
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} B`;
}
