/**
 * Limits of the HTTP and Socket.IO contract, shared by the server (which enforces them) and the
 * browser app (which stays within them).
 */

/** Largest `limit` of GET /api/candles (one page, also with `before=`). */
export const MAX_CANDLES = 5000;

/** Largest `limit` of GET /api/indicators. */
export const MAX_INDICATOR_VALUES = 5000;

/** Indicators one `subscribe` may ask for. */
export const MAX_INDICATORS_PER_SUBSCRIPTION = 10;

/** Largest `limit` of GET /api/ticks with `before=` (a page read from the database). */
export const MAX_TICK_PAGE = 5000;

/** Longest `note` of a price alert (characters). */
export const MAX_ALERT_NOTE_LENGTH = 200;

/** Invalid lines of a CSV import listed in full (the rest are only counted). */
export const MAX_REPORTED_IMPORT_LINES = 50;
