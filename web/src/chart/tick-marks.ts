import { TickMarkType } from 'lightweight-charts';
import { dateParts, formatClock, MONTHS, type TimeZoneChoice } from '../lib/time-zone.js';

/**
 * The time axis labels in the page's time zone (bars are UTC buckets; `time` is epoch seconds,
 * fractional on the tick chart). Lightweight Charts says which kind of mark it wants: a year, a
 * month, a day, or a time with or without seconds.
 */
export function tickMarkLabel(time: number, type: TickMarkType, zone: TimeZoneChoice): string {
  // The tick chart places ticks inside a second: a mark there reads to the tenth.
  if (type === TickMarkType.TimeWithSeconds && time % 1 !== 0) return `${formatClock(time * 1000, zone, 'seconds')}.${Math.floor((time * 10) % 10)}`;
  const ms = time * 1000;
  const p = dateParts(ms, zone);
  switch (type) {
    case TickMarkType.Year:
      return String(p.year);
    case TickMarkType.Month:
      return MONTHS[p.month]!;
    case TickMarkType.DayOfMonth:
      return `${p.day} ${MONTHS[p.month]}`;
    case TickMarkType.TimeWithSeconds:
      return formatClock(ms, zone, 'seconds');
    default:
      return formatClock(ms, zone, 'minutes');
  }
}
