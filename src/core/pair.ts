/** Pair names and the Redis-safe symbol derived from them. */

export const PAIR_MAX_LENGTH = 32;
const PAIR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9/_.-]*$/;

/** Why `value` is not a valid pair name, or null when it is. */
export function pairProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > PAIR_MAX_LENGTH) return `must be at most ${PAIR_MAX_LENGTH} characters`;
  if (!PAIR_PATTERN.test(value)) {
    return 'must start with a letter or digit and contain only letters, digits, "/", "_", "-" and "."';
  }
  return null;
}

/** `EUR/USD_otc` -> `EURUSD_otc`: every character outside [A-Za-z0-9_] removed. */
export function toSymbol(pair: string): string {
  return pair.replace(/[^A-Za-z0-9_]/g, '');
}
