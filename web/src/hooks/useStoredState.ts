import { useCallback, useState } from 'react';

/** useState that survives a reload (localStorage), with a check on what was stored. */
export function useStoredState<T>(key: string, initial: T, valid: (v: unknown) => v is T): [T, (v: T | ((prev: T) => T)) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = globalThis.localStorage?.getItem(key);
      if (raw !== null && raw !== undefined) {
        const parsed: unknown = JSON.parse(raw);
        if (valid(parsed)) return parsed;
      }
    } catch {
      /* storage unavailable or corrupt: use the default */
    }
    return initial;
  });
  const set = useCallback(
    (v: T | ((prev: T) => T)) => {
      setValue((prev) => {
        const next = typeof v === 'function' ? (v as (p: T) => T)(prev) : v;
        try {
          globalThis.localStorage?.setItem(key, JSON.stringify(next));
        } catch {
          /* private mode: keep it in memory */
        }
        return next;
      });
    },
    [key],
  );
  return [value, set];
}
