import { useEffect, useState } from 'react';
import { CHART_TYPES, type ChartType } from '../chart/chart-types.js';
import { usePopover } from '../hooks/usePopover.js';
import {
  defaultParams,
  INDICATOR_CHOICES,
  indicatorChoice,
  indicatorKey,
  levelSpec,
  MAX_INDICATORS,
  paramSpecs,
  settingsProblems,
  type IndicatorChoice,
  type IndicatorSettings,
  type IndicatorSettingsMap,
} from '../lib/indicators.js';
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
  settings: IndicatorSettingsMap;
  onSettings: (id: string, settings: IndicatorSettings | null) => void;
}

/**
 * A dropdown of the overlays and oscillators, each a checkbox (at most 10, the server's cap), and
 * each with its settings: parameters within the server's ranges, and the levels of RSI,
 * Stochastic and Williams %R.
 */
export function IndicatorMenu({ selected, onChange, settings, onSettings }: IndicatorMenuProps) {
  const { open, toggle, rootRef } = usePopover();
  const [editing, setEditing] = useState<string | null>(null);
  useEffect(() => {
    if (!open) setEditing(null);
  }, [open]);

  const toggleChoice = (id: string) => {
    if (selected.includes(id)) onChange(selected.filter((x) => x !== id));
    else if (selected.length < MAX_INDICATORS) onChange([...selected, id]);
  };
  const choices = INDICATOR_CHOICES.map((c) => indicatorChoice(c.id, settings[c.id]) ?? c);
  const group = (placement: IndicatorChoice['placement']) => choices.filter((c) => c.placement === placement);
  const full = selected.length >= MAX_INDICATORS;

  return (
    <div className="menu" ref={rootRef}>
      <button type="button" className={`tool-button${open ? ' active' : ''}`} aria-haspopup="true" aria-expanded={open} onClick={toggle} data-menu="indicators" title="Indicators">
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M1 12l4-5 3 3 6-7" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        <span className="tool-label">Indicators</span>
        {selected.length > 0 && <span className="count">{selected.length}</span>}
      </button>
      {open && editing === null && (
        <div className="menu-popover" role="menu">
          {(['overlay', 'pane'] as const).map((placement) => (
            <div key={placement} className="menu-group">
              <div className="menu-heading">{placement === 'overlay' ? 'Overlays · price pane' : 'Oscillators · own pane'}</div>
              {group(placement).map((c) => {
                const on = selected.includes(c.id);
                return (
                  <div key={c.id} className="menu-row">
                    <label className={`menu-item${!on && full ? ' disabled' : ''}`} role="menuitemcheckbox" aria-checked={on} data-indicator={c.id}>
                      <input type="checkbox" checked={on} disabled={!on && full} onChange={() => toggleChoice(c.id)} />
                      <span className="swatch" style={{ background: c.lines[0]?.color }} />
                      {c.label}
                    </label>
                    <button type="button" className="icon-button" title={`${c.label} settings`} aria-label={`${c.label} settings`} data-settings={c.id} onClick={() => setEditing(c.id)}>
                      <svg viewBox="0 0 16 16" aria-hidden="true">
                        <path d="M2 4h7M12 4h2M2 12h2M7 12h7M9.5 2.5v3M5.5 10.5v3" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
                      </svg>
                    </button>
                  </div>
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
      {open && editing !== null && (
        <div className="menu-popover settings-popover" role="dialog" aria-label="Indicator settings">
          <IndicatorSettingsForm
            id={editing}
            settings={settings[editing] ?? {}}
            others={choices.filter((c) => c.id !== editing && selected.includes(c.id))}
            onApply={(s) => {
              onSettings(editing, s);
              if (!selected.includes(editing) && !full) onChange([...selected, editing]);
              setEditing(null);
            }}
            onBack={() => setEditing(null)}
          />
        </div>
      )}
    </div>
  );
}

/** One indicator's parameters (and levels), checked as the server checks them while typing. */
export function IndicatorSettingsForm({
  id,
  settings,
  others,
  onApply,
  onBack,
}: {
  id: string;
  settings: IndicatorSettings;
  others: readonly IndicatorChoice[];
  onApply: (s: IndicatorSettings | null) => void;
  onBack: () => void;
}) {
  const specs = paramSpecs(id);
  const levels = levelSpec(id);
  const current = indicatorChoice(id, settings)!;
  const [params, setParams] = useState<Record<string, string>>(() => Object.fromEntries(specs.map((p) => [p.name, String(current.params[p.name])])));
  const [levelText, setLevelText] = useState<string[]>(() => (levels ? (current.levels ?? [...levels.defaults]).map(String) : []));
  const draft: IndicatorSettings = {
    params: Object.fromEntries(specs.map((p) => [p.name, params[p.name]?.trim() === '' ? Number.NaN : Number(params[p.name])])),
    ...(levels ? { levels: levelText.map((v) => (v.trim() === '' ? Number.NaN : Number(v))) } : {}),
  };
  const problems = settingsProblems(id, draft);
  const next = problems.length === 0 ? indicatorChoice(id, draft) : undefined;
  const twin = next && others.find((o) => indicatorKey(o) === indicatorKey(next));
  const problemOf = (field: string) => problems.find((p) => p.field === field)?.message;
  const defaults = defaultParams(id);

  return (
    <form
      className="settings-form"
      noValidate
      data-settings-form={id}
      onSubmit={(e) => {
        e.preventDefault();
        if (problems.length > 0 || twin) return;
        const same = specs.every((p) => draft.params![p.name] === defaults[p.name]) && (!levels || draft.levels!.every((v, i) => v === levels.defaults[i]));
        onApply(same ? null : draft);
      }}
    >
      <div className="settings-head">
        <button type="button" className="icon-button" onClick={onBack} aria-label="Back to the list">
          ‹
        </button>
        <b>{current.label}</b>
        <span className="muted">{current.placement === 'overlay' ? 'price pane' : 'own pane'}</span>
      </div>
      {specs.map((p) => (
        <label key={p.name} className="field">
          <span className="field-name" title={p.description}>
            {p.name}
            <span className="muted">
              {' '}
              {p.min}–{p.max}
            </span>
          </span>
          <input
            type="number"
            inputMode={p.integer ? 'numeric' : 'decimal'}
            name={p.name}
            min={p.min}
            max={p.max}
            step={p.integer ? 1 : 0.1}
            value={params[p.name] ?? ''}
            aria-invalid={problemOf(p.name) ? true : undefined}
            onChange={(e) => setParams((x) => ({ ...x, [p.name]: e.target.value }))}
          />
          <span className="field-hint">{problemOf(p.name) ?? p.description}</span>
        </label>
      ))}
      {levels &&
        levelText.map((v, i) => (
          <label key={i} className="field">
            <span className="field-name">
              {i === 0 ? 'lower level' : 'upper level'}
              <span className="muted">
                {' '}
                {levels.range[0]}–{levels.range[1]}
              </span>
            </span>
            <input
              type="number"
              name={`level${i}`}
              min={levels.range[0]}
              max={levels.range[1]}
              step={1}
              value={v}
              aria-invalid={problemOf(`level${i}`) ? true : undefined}
              onChange={(e) => setLevelText((x) => x.map((y, k) => (k === i ? e.target.value : y)))}
            />
            <span className="field-hint">{problemOf(`level${i}`) ?? 'drawn and kept in view'}</span>
          </label>
        ))}
      {problems
        .filter((p) => !specs.some((s) => s.name === p.field) && !p.field.startsWith('level'))
        .map((p) => (
          <div key={p.field} className="field-error" role="alert">
            {p.field} {p.message}
          </div>
        ))}
      {twin && (
        <div className="field-error" role="alert">
          The same as {twin.label}, already on the chart
        </div>
      )}
      <div className="settings-actions">
        <button
          type="button"
          className="link"
          onClick={() => {
            setParams(Object.fromEntries(specs.map((p) => [p.name, String(defaults[p.name])])));
            if (levels) setLevelText(levels.defaults.map(String));
          }}
        >
          Defaults
        </button>
        <button type="submit" className="button small" disabled={problems.length > 0 || !!twin}>
          Apply
        </button>
      </div>
    </form>
  );
}

/** Candles, Heikin-Ashi, bars, line, area. */
export function ChartTypeMenu({ value, onChange, disabled }: { value: ChartType; onChange: (t: ChartType) => void; disabled?: boolean }) {
  const { open, setOpen, toggle, rootRef } = usePopover();
  const current = CHART_TYPES.find((c) => c.type === value)!;
  return (
    <div className="menu" ref={rootRef}>
      <button
        type="button"
        className={`tool-button icon-only${open ? ' active' : ''}`}
        aria-haspopup="true"
        aria-expanded={open}
        onClick={toggle}
        disabled={disabled}
        data-menu="chart-type"
        title={disabled ? 'The tick chart is a line through every tick' : `Chart type: ${current.label} (C)`}
        aria-label={`Chart type: ${current.label}`}
      >
        <ChartTypeIcon path={current.icon} />
      </button>
      {open && (
        <div className="menu-popover list-popover" role="menu">
          {CHART_TYPES.map((c) => (
            <button
              key={c.type}
              type="button"
              role="menuitemradio"
              aria-checked={c.type === value}
              className={`menu-entry${c.type === value ? ' active' : ''}`}
              data-chart-type={c.type}
              onClick={() => {
                onChange(c.type);
                setOpen(false);
              }}
            >
              <ChartTypeIcon path={c.icon} />
              {c.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function ChartTypeIcon({ path }: { path: string }) {
  return (
    <svg viewBox="0 0 16 16" aria-hidden="true">
      <path d={path} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round" />
    </svg>
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
