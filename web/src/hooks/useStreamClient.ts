import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { ConnectionInfo, StreamClient } from '../lib/stream-client.js';

export const StreamClientContext = createContext<StreamClient | null>(null);

export function useStreamClient(): StreamClient | null {
  return useContext(StreamClientContext);
}

const OFFLINE: ConnectionInfo = { state: 'connecting', attempt: 0, retryAt: null, reason: null };

/** The link's state, re-rendering only when it changes. */
export function useConnection(client: StreamClient | null): ConnectionInfo {
  return useSyncExternalStore(
    client ? client.subscribeConnection : noopSubscribe,
    () => (client ? client.connection : OFFLINE),
    () => OFFLINE,
  );
}

const noopSubscribe = () => () => undefined;

/** A counter that goes up once a second: the pace of every figure shown as text. */
export function useSecondTick(intervalMs = 1000): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setN((x) => x + 1), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return n;
}
