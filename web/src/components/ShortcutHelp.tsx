import { usePopover } from '../hooks/usePopover.js';
import { SHORTCUTS } from '../lib/shortcuts.js';
import { useEffect } from 'react';

/** The keyboard shortcuts, in a small popover (also opened with `?`). */
export function ShortcutHelp({ open: wanted, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const { open, setOpen, rootRef } = usePopover();
  useEffect(() => setOpen(wanted), [wanted, setOpen]);
  useEffect(() => onOpenChange(open), [open, onOpenChange]);
  return (
    <div className="menu" ref={rootRef}>
      <button type="button" className={`tool-button icon-only${open ? ' active' : ''}`} aria-expanded={open} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" data-menu="help" onClick={() => setOpen(!open)}>
        <span aria-hidden="true" className="help-glyph">
          ?
        </span>
      </button>
      {open && (
        <div className="menu-popover help-popover" role="dialog" aria-label="Keyboard shortcuts">
          <div className="menu-heading">Keyboard shortcuts</div>
          <table>
            <tbody>
              {SHORTCUTS.map((s) => (
                <tr key={s.keys}>
                  <td>
                    <kbd>{s.keys}</kbd>
                  </td>
                  <td>{s.what}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="muted">Not while typing in a field.</div>
        </div>
      )}
    </div>
  );
}
