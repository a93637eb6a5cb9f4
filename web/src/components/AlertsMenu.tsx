import { useState, type FormEvent } from 'react';
import { useAlertCenter, useAlerts } from '../hooks/useAlerts.js';
import { usePopover } from '../hooks/usePopover.js';
import { useSecondTick, useStreamClient } from '../hooks/useStreamClient.js';
import { useTimeZone } from '../hooks/useTimeZone.js';
import { conditionFor, distanceText, firesOnNextTick } from '../lib/alert-logic.js';
import { ApiError } from '../lib/api.js';
import { formatPrice, pricePrecision } from '../lib/format.js';
import { formatClock, formatDateTime } from '../lib/time-zone.js';
import type { AlertCondition } from '../lib/types.js';
import { MAX_ALERT_NOTE_LENGTH } from '../../../src/shared/limits.js';

/**
 * The price alerts: a form for the pair on screen (condition, level, note) and the list of every
 * alert, waiting or fired, each deletable. Alerts are also made from the chart (the alert tool,
 * or a right-click at a price).
 */
export function AlertsMenu({ pair, onGesture }: { pair: string | null; onGesture: () => void }) {
  const { open, toggle, rootRef } = usePopover();
  const { alerts, status, error } = useAlerts();
  const waiting = alerts.filter((a) => a.triggeredAt === null).length;
  return (
    <div className="menu" ref={rootRef}>
      <button type="button" className={`tool-button${open ? ' active' : ''}`} aria-haspopup="true" aria-expanded={open} onClick={toggle} data-menu="alerts" title="Price alerts">
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M8 2a4 4 0 0 0-4 4v3l-1.5 2.5h11L12 9V6a4 4 0 0 0-4-4zM6.5 13.5a1.5 1.5 0 0 0 3 0" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinejoin="round" />
        </svg>
        <span className="tool-label">Alerts</span>
        {waiting > 0 && <span className="count">{waiting}</span>}
      </button>
      {open && (
        <div className="menu-popover alerts-popover" role="dialog" aria-label="Price alerts">
          {pair && <AlertForm key={pair} pair={pair} onGesture={onGesture} />}
          <div className="menu-heading">Alerts</div>
          {status === 'error' && <div className="field-error">{error}</div>}
          {status === 'ready' && alerts.length === 0 && <div className="muted empty-line">No alerts yet. Set one above, or click a price with the alert tool.</div>}
          <AlertList />
        </div>
      )}
    </div>
  );
}

function AlertForm({ pair, onGesture }: { pair: string; onGesture: () => void }) {
  const center = useAlertCenter();
  const client = useStreamClient();
  useSecondTick();
  const last = client?.stats(pair).price ?? null;
  const digits = pricePrecision(pair, last);
  const [price, setPrice] = useState(() => (last !== null ? last.toFixed(digits) : ''));
  const [condition, setCondition] = useState<AlertCondition | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const level = Number(price);
  const valid = price.trim() !== '' && Number.isFinite(level) && level > 0;
  const side = condition ?? (valid ? conditionFor(level, last) : 'above');
  const atOnce = valid && firesOnNextTick(side, level, last);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    onGesture();
    if (!center || !valid) return;
    setBusy(true);
    setProblem(null);
    try {
      await center.create({ pair, condition: side, price: level, note: note.trim() || null });
      setNote('');
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="alert-form" onSubmit={submit} data-alert-form={pair} noValidate>
      <div className="menu-heading">New alert · {pair}</div>
      <div className="alert-form-row">
        <div className="segmented small" role="radiogroup" aria-label="Condition">
          {(['above', 'below'] as const).map((c) => (
            <button key={c} type="button" role="radio" aria-checked={side === c} className={side === c ? 'active' : ''} data-condition={c} onClick={() => setCondition(c)}>
              {c === 'above' ? '▲ above' : '▼ below'}
            </button>
          ))}
        </div>
        <input
          className="price-input"
          type="number"
          inputMode="decimal"
          step={10 ** -digits}
          min={0}
          name="price"
          aria-label="Alert price"
          value={price}
          onChange={(e) => setPrice(e.target.value)}
          aria-invalid={price !== '' && !valid ? true : undefined}
        />
      </div>
      <input
        className="note-input"
        type="text"
        name="note"
        placeholder="Note (optional)"
        maxLength={MAX_ALERT_NOTE_LENGTH}
        value={note}
        onChange={(e) => setNote(e.target.value)}
      />
      <div className="alert-form-foot">
        <span className={`muted${atOnce ? ' warn' : ''}`}>
          {last === null ? 'No price yet' : atOnce ? 'Already crossed: fires on the next tick' : `Now ${formatPrice(last, digits)} · ${distanceText(level, last)}`}
        </span>
        <button type="submit" className="button small" disabled={!valid || busy}>
          Set alert
        </button>
      </div>
      {problem && (
        <div className="field-error" role="alert">
          {problem}
        </div>
      )}
    </form>
  );
}

/** Every alert: waiting ones first, then those that fired (when, and at what price). */
export function AlertList() {
  const center = useAlertCenter();
  const { alerts } = useAlerts();
  const { zone } = useTimeZone();
  const client = useStreamClient();
  const [problem, setProblem] = useState<string | null>(null);
  if (alerts.length === 0) return null;
  return (
    <>
      <ul className="alert-list">
        {alerts.map((a) => {
          const digits = pricePrecision(a.pair, a.price);
          const last = client?.stats(a.pair).price ?? null;
          return (
            <li key={a.id} className={`alert-row${a.triggeredAt !== null ? ' fired' : ''}`} data-alert-id={a.id} data-alert-state={a.triggeredAt !== null ? 'fired' : 'waiting'}>
              <span className={`alert-side ${a.condition}`}>{a.condition === 'above' ? '▲' : '▼'}</span>
              <span className="alert-main">
                <b>{a.pair}</b> {a.condition} <b className="mono">{formatPrice(a.price, digits)}</b>
                {a.note && <span className="alert-note">{a.note}</span>}
              </span>
              <span className="alert-state" title={a.triggeredAt !== null ? formatDateTime(a.triggeredAt, zone, 'seconds') : undefined}>
                {a.triggeredAt !== null
                  ? `fired ${formatClock(a.triggeredAt, zone)}${a.trigger ? ` at ${formatPrice(a.trigger.price, digits)}` : ''}`
                  : `waiting ${distanceText(a.price, last)}`}
              </span>
              <button
                type="button"
                className="icon-button"
                aria-label={`Delete alert ${a.pair} ${a.condition} ${a.price}`}
                title="Delete"
                onClick={() => center?.remove(a.id).catch((err: Error) => setProblem(err.message))}
              >
                ×
              </button>
            </li>
          );
        })}
      </ul>
      {problem && <div className="field-error">{problem}</div>}
    </>
  );
}
