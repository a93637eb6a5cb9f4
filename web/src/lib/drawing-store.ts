import { isDrawing, type Drawing } from './drawing-geometry.js';

/** At most this many drawings per pair are kept (a full chart is unreadable long before). */
export const MAX_DRAWINGS_PER_PAIR = 200;
const PREFIX = 'quflx.drawings.';

type Listener = (pair: string, drawings: readonly Drawing[]) => void;

/**
 * Each pair's drawings, kept in localStorage (`quflx.drawings.<pair>`) so they are there after a
 * reload; what is read back is checked, and a corrupt entry is dropped rather than drawn. Charts
 * of the same pair hear each other's changes.
 */
export class DrawingStore {
  private readonly cache = new Map<string, readonly Drawing[]>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null = safeLocalStorage()) {}

  get(pair: string): readonly Drawing[] {
    const cached = this.cache.get(pair);
    if (cached) return cached;
    let list: Drawing[] = [];
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(PREFIX + pair) ?? '[]');
      if (Array.isArray(parsed)) list = parsed.filter(isDrawing).slice(-MAX_DRAWINGS_PER_PAIR);
    } catch {
      /* corrupt: start empty */
    }
    this.cache.set(pair, list);
    return list;
  }

  set(pair: string, drawings: readonly Drawing[]): void {
    const list = drawings.slice(-MAX_DRAWINGS_PER_PAIR);
    this.cache.set(pair, list);
    try {
      if (list.length === 0) this.storage?.removeItem(PREFIX + pair);
      else this.storage?.setItem(PREFIX + pair, JSON.stringify(list));
    } catch {
      /* private mode or full: kept for this visit */
    }
    for (const l of this.listeners) l(pair, list);
  }

  add(pair: string, drawing: Drawing): void {
    this.set(pair, [...this.get(pair), drawing]);
  }

  replace(pair: string, drawing: Drawing): void {
    this.set(
      pair,
      this.get(pair).map((d) => (d.id === drawing.id ? drawing : d)),
    );
  }

  remove(pair: string, id: string): void {
    this.set(
      pair,
      this.get(pair).filter((d) => d.id !== id),
    );
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

let ids = 0;
/** A drawing id unique enough for one browser's storage. */
export function newDrawingId(): string {
  return `${Date.now().toString(36)}${(ids++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** The page's one store. */
export const drawingStore = new DrawingStore();
