/**
 * One time zone for everything on the page (axis, legend, clock, the day's change): UTC or the
 * browser's own, chosen in the page. Bars stay UTC buckets; only how times are shown changes.
 */
export type TimeZoneChoice = 'utc' | 'local';

export function isTimeZoneChoice(v: unknown): v is TimeZoneChoice {
  return v === 'utc' || v === 'local';
}

export interface DateParts {
  year: number;
  /** 0 to 11 */
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  ms: number;
}

export function dateParts(epochMs: number, zone: TimeZoneChoice): DateParts {
  const d = new Date(epochMs);
  return zone === 'utc'
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds(), ms: d.getUTCMilliseconds() }
    : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds(), ms: d.getMilliseconds() };
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `HH:MM`, `HH:MM:SS` or `HH:MM:SS.mmm`. */
export function formatClock(epochMs: number, zone: TimeZoneChoice, precision: 'minutes' | 'seconds' | 'ms' = 'seconds'): string {
  const p = dateParts(epochMs, zone);
  const hm = `${pad(p.hours)}:${pad(p.minutes)}`;
  if (precision === 'minutes') return hm;
  const hms = `${hm}:${pad(p.seconds)}`;
  return precision === 'seconds' ? hms : `${hms}.${pad(p.ms, 3)}`;
}

/** `YYYY-MM-DD HH:MM[:SS[.mmm]]` in the zone. */
export function formatDateTime(epochMs: number, zone: TimeZoneChoice, precision: 'minutes' | 'seconds' | 'ms' = 'minutes'): string {
  const p = dateParts(epochMs, zone);
  return `${p.year}-${pad(p.month + 1)}-${pad(p.day)} ${formatClock(epochMs, zone, precision)}`;
}

/** `UTC`, or the browser's offset at that moment: `UTC+2`, `UTC-3:30`. */
export function zoneLabel(zone: TimeZoneChoice, atMs: number = Date.now()): string {
  if (zone === 'utc') return 'UTC';
  const offset = -new Date(atMs).getTimezoneOffset();
  if (offset === 0) return 'UTC+0';
  const sign = offset > 0 ? '+' : '-';
  const h = Math.floor(Math.abs(offset) / 60);
  const m = Math.abs(offset) % 60;
  return `UTC${sign}${h}${m ? `:${pad(m)}` : ''}`;
}

/** Epoch ms of the midnight that starts the day of `epochMs` in the zone. */
export function startOfDay(epochMs: number, zone: TimeZoneChoice): number {
  const d = new Date(epochMs);
  if (zone === 'utc') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}
