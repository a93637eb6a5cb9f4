import { useEffect, useRef, useState } from 'react';
import { INDICATOR_CHOICES, MAX_INDICATORS, type IndicatorChoice } from '../lib/indicators.js';
import { TIMEFRAMES, type ChartTimeframe } from '../lib/timeframes.js';
import type { Layout } from '../lib/view-url.js';

/** The ten timeframes and, beside them, the tick chart. */
export function TimeframeSwitcher({ value, onChange }: { value: ChartTimeframe; onChange: (tf: ChartTimeframe) => void }) {
  return (
    <div className="segmented" role="radiogroup" aria-label="Timeframe">
      {[...TIMEFRAMES, 'tick' as const].map((tf) => (
        <button
          key={tf}
          type="button"
          role="radio"
          aria-checked={tf === value}
          className={`${tf === value ? 'active' : ''}${tf === 'tick' ? ' tick' : ''}`}
          data-timeframe={tf}
          title={tf === 'tick' ? 'Every tick, as a line' : undefined}
          onClick={() => onChange(tf)}
        >
          {tf === 'tick' ? 'Tick' : tf.toLowerCase()}
        </button>
      ))}
    </div>
  );
}

export interface IndicatorMenuProps {
  selected: readonly string[];
  onChange: (ids: string[]) => void;
}

/** A dropdown of the overlays and oscillators, each a checkbox (at most 10, the server's cap). */
export function IndicatorMenu({ selected, onChange }: IndicatorMenuProps) {
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (rootRef.current && !rootRef.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const toggle = (id: string) => {
    if (selected.includes(id)) onChange(selected.filter((x) => x !== id));
    else if (selected.length < MAX_INDICATORS) onChange([...selected, id]);
  };
  const group = (placement: IndicatorChoice['placement']) => INDICATOR_CHOICES.filter((c) => c.placement === placement);
  const full = selected.length >= MAX_INDICATORS;

  return (
    <div className="menu" ref={rootRef}>
      <button type="button" className={`tool-button${open ? ' active' : ''}`} aria-haspopup="true" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-menu="indicators">
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M1 12l4-5 3 3 6-7" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        Indicators
        {selected.length > 0 && <span className="count">{selected.length}</span>}
      </button>
      {open && (
        <div className="menu-popover" role="menu">
          {(['overlay', 'pane'] as const).map((placement) => (
            <div key={placement} className="menu-group">
              <div className="menu-heading">{placement === 'overlay' ? 'Overlays · price pane' : 'Oscillators · own pane'}</div>
              {group(placement).map((c) => {
                const on = selected.includes(c.id);
                return (
                  <label key={c.id} className={`menu-item${!on && full ? ' disabled' : ''}`} role="menuitemcheckbox" aria-checked={on} data-indicator={c.id}>
                    <input type="checkbox" checked={on} disabled={!on && full} onChange={() => toggle(c.id)} />
                    <span className="swatch" style={{ background: c.lines[0]?.color }} />
                    {c.label}
                  </label>
                );
              })}
            </div>
          ))}
          <div className="menu-foot">
            <span>{full ? `At most ${MAX_INDICATORS} at once` : `${selected.length} of ${MAX_INDICATORS}`}</span>
            {selected.length > 0 && (
              <button type="button" className="link" onClick={() => onChange([])}>
                Clear all
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

export type { Layout };

export function LayoutSwitch({ value, onChange }: { value: Layout; onChange: (layout: Layout) => void }) {
  const icons: Record<Layout, string> = {
    1: 'M2 2h12v12H2z',
    2: 'M2 2h5.5v12H2zM8.5 2H14v12H8.5z',
    3: 'M2 2h5.5v12H2zM8.5 2H14v5.5H8.5zM8.5 8.5H14V14H8.5z',
    4: 'M2 2h5.5v5.5H2zM8.5 2H14v5.5H8.5zM2 8.5h5.5V14H2zM8.5 8.5H14V14H8.5z',
  };
  return (
    <div className="segmented icons" role="radiogroup" aria-label="Layout">
      {([1, 2, 3, 4] as const).map((n) => (
        <button key={n} type="button" role="radio" aria-checked={n === value} className={n === value ? 'active' : ''} title={n === 1 ? 'One chart' : `${n} pairs side by side`} data-layout={n} onClick={() => onChange(n)}>
          <svg viewBox="0 0 16 16" aria-hidden="true">
            <path d={icons[n]} fill="none" stroke="currentColor" strokeWidth="1.2" />
          </svg>
        </button>
      ))}
    </div>
  );
}
