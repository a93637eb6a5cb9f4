/**
 * How a feed's tick id is stored: as a BIGINT when its text is a canonical decimal integer
 * (8 bytes, and its own index key), else as TEXT. The text is what identifies the tick, so the
 * mapping must be exact both ways: '123' and 123 are one id and go to feed_num; '007', '-0',
 * '1e3' and integers beyond the BIGINT range stay text. The SQL in 002_compact_ticks.sql follows
 * the same rule when it moves version-1 rows.
 */
const CANONICAL_INTEGER = /^(0|-?[1-9]\d{0,18})$/;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

export interface StoredFeedId {
  /** The id as a canonical integer (decimal text, as pg takes and returns BIGINT), or null. */
  num: string | null;
  /** The id as text when it is not such an integer, or null. */
  text: string | null;
}

export function encodeFeedId(id: string | null): StoredFeedId {
  if (id === null) return { num: null, text: null };
  if (CANONICAL_INTEGER.test(id)) {
    // Up to 18 digits always fits; only longer ones need the exact range check.
    const digits = id.length - (id.startsWith('-') ? 1 : 0);
    if (digits <= 18) return { num: id, text: null };
    const n = BigInt(id);
    if (n >= INT8_MIN && n <= INT8_MAX) return { num: id, text: null };
  }
  return { num: null, text: id };
}

/**
 * Orders two canonical decimal integers (as encodeFeedId's `num`) by value, without BigInt: the
 * persister compares every id of a batch, and a BigInt each time cost more than the rest.
 */
export function compareCanonicalIntegers(a: string, b: string): number {
  const na = a.startsWith('-');
  const nb = b.startsWith('-');
  if (na !== nb) return na ? -1 : 1;
  // Same sign: longer is bigger in magnitude (no leading zeros), then digit by digit.
  const byMagnitude = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  return na && byMagnitude !== 0 ? -byMagnitude : byMagnitude;
}
