import { createContext, useContext, useSyncExternalStore } from 'react';
import type { AlertCenter, AlertsState } from '../lib/alert-center.js';

export const AlertCenterContext = createContext<AlertCenter | null>(null);

export function useAlertCenter(): AlertCenter | null {
  return useContext(AlertCenterContext);
}

const NONE: AlertsState = { status: 'loading', alerts: [], error: null };
const noop = () => () => undefined;

/** The alerts list, re-rendering when it changes. */
export function useAlerts(): AlertsState {
  const center = useAlertCenter();
  return useSyncExternalStore(center ? center.subscribe : noop, center ? center.snapshot : () => NONE, () => NONE);
}
