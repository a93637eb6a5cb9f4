import { useEffect, useRef } from 'react';
import { conditionFor } from '../lib/alert-logic.js';
import { formatPrice, pricePrecision } from '../lib/format.js';

export interface ContextMenuState {
  chart: string;
  pair: string;
  clientX: number;
  clientY: number;
  price: number;
  lastPrice: number | null;
  /** A drawing is selected on that chart. */
  selected: boolean;
}

/** The chart's right-click menu at a price: an alert there, a level there, a trend line, delete. */
export function ChartContextMenu({
  state,
  onAlert,
  onLevel,
  onTrend,
  onDelete,
  onClose,
}: {
  state: ContextMenuState;
  onAlert: () => void;
  onLevel: () => void;
  onTrend: () => void;
  onDelete: () => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    ref.current?.querySelector('button')?.focus();
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [onClose]);
  const digits = pricePrecision(state.pair, state.lastPrice ?? state.price);
  const price = formatPrice(state.price, digits);
  const side = conditionFor(state.price, state.lastPrice);
  // Kept on screen near the right and bottom edges.
  const left = Math.min(state.clientX, window.innerWidth - 250);
  const top = Math.min(state.clientY, window.innerHeight - 170);
  const item = (label: string, run: () => void, attr: string, disabled = false) => (
    <button
      type="button"
      role="menuitem"
      className="menu-entry"
      data-action={attr}
      disabled={disabled}
      onClick={() => {
        run();
        onClose();
      }}
    >
      {label}
    </button>
  );
  return (
    <div className="context-menu" role="menu" ref={ref} style={{ left, top }} data-context-price={state.price}>
      {item(`Alert when ${side} ${price}`, onAlert, 'alert')}
      {item(`Horizontal level at ${price}`, onLevel, 'level')}
      {item('Draw a trend line', onTrend, 'trend')}
      {item('Delete the selected drawing', onDelete, 'delete', !state.selected)}
    </div>
  );
}
