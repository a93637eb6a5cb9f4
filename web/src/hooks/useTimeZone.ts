import { createContext, useContext } from 'react';
import type { TimeZoneChoice } from '../lib/time-zone.js';

/** The page's one time zone and how to change it (App owns it, stored in localStorage). */
export const TimeZoneContext = createContext<{ zone: TimeZoneChoice; setZone: (zone: TimeZoneChoice) => void }>({
  zone: 'utc',
  setZone: () => undefined,
});

export function useTimeZone() {
  return useContext(TimeZoneContext);
}
