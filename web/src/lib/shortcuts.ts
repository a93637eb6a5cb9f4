import { TIMEFRAMES, type ChartTimeframe } from './timeframes.js';

/** What a key does on the page (see the help popover, components/ShortcutHelp.tsx). */
export type ShortcutAction =
  | { type: 'timeframe'; tf: ChartTimeframe }
  | { type: 'pair'; step: 1 | -1 }
  | { type: 'tool'; tool: 'hline' | 'trend' | 'alert' }
  | { type: 'cancel' }
  | { type: 'delete' }
  | { type: 'chartType' }
  | { type: 'fullscreen' }
  | { type: 'screenshot' }
  | { type: 'help' };

/** The keys and what they do, in the order the help lists them. */
export const SHORTCUTS: readonly { keys: string; what: string }[] = [
  { keys: '1 … 9, 0', what: `Timeframe ${TIMEFRAMES[0]!.toLowerCase()} … ${TIMEFRAMES[TIMEFRAMES.length - 1]!.toLowerCase()}` },
  { keys: 'T', what: 'Tick chart' },
  { keys: '↑ ↓', what: 'Previous / next pair' },
  { keys: 'C', what: 'Next chart type' },
  { keys: 'H', what: 'Draw a horizontal level' },
  { keys: 'L', what: 'Draw a trend line' },
  { keys: 'A', what: 'Place a price alert' },
  { keys: 'Del', what: 'Delete the selected drawing' },
  { keys: 'Esc', what: 'Cancel the tool / selection' },
  { keys: 'F', what: 'Chart fullscreen' },
  { keys: 'S', what: 'Save a chart screenshot (PNG)' },
  { keys: '?', what: 'This help' },
];

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  target?: EventTarget | null;
}

/** The user is typing (a text field, a select, an editable element): keys are theirs. */
export function isTypingTarget(target: EventTarget | null | undefined): boolean {
  const el = target as (HTMLElement & { isContentEditable?: boolean }) | null | undefined;
  if (!el || typeof el.tagName !== 'string') return false;
  const tag = el.tagName.toUpperCase();
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable === true;
}

/** The page's action for a key press, or null (typing, a browser shortcut, an unused key). */
export function shortcutFor(e: KeyLike): ShortcutAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null; // the browser's and the system's
  if (isTypingTarget(e.target)) return null;
  const key = e.key;
  if (key.length === 1 && key >= '0' && key <= '9') {
    const i = key === '0' ? 9 : Number(key) - 1;
    const tf = TIMEFRAMES[i];
    return tf ? { type: 'timeframe', tf } : null;
  }
  switch (key) {
    case 't':
    case 'T':
      return { type: 'timeframe', tf: 'tick' };
    case 'ArrowUp':
      return { type: 'pair', step: -1 };
    case 'ArrowDown':
      return { type: 'pair', step: 1 };
    case 'c':
    case 'C':
      return { type: 'chartType' };
    case 'h':
    case 'H':
      return { type: 'tool', tool: 'hline' };
    case 'l':
    case 'L':
      return { type: 'tool', tool: 'trend' };
    case 'a':
    case 'A':
      return { type: 'tool', tool: 'alert' };
    case 'Delete':
    case 'Backspace':
      return { type: 'delete' };
    case 'Escape':
      return { type: 'cancel' };
    case 'f':
    case 'F':
      return { type: 'fullscreen' };
    case 's':
    case 'S':
      return { type: 'screenshot' };
    case '?':
      return { type: 'help' };
    default:
      return null;
  }
}
