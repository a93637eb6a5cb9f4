import type { Health } from '../hooks/useHealth.js';
import type { HistoryState } from '../hooks/usePagedHistory.js';
import { useConnection, useSecondTick, useStreamClient } from '../hooks/useStreamClient.js';
import { useTimeZone } from '../hooks/useTimeZone.js';
import { formatLatency, formatRate } from '../lib/format.js';
import { formatClock, zoneLabel } from '../lib/time-zone.js';

export interface StatusBarProps {
  history: HistoryState | null;
  health: Health | null;
  pairs: number;
}

/** Connection, tick-to-screen latency, ticks per second, where the history came from, server health. */
export function StatusBar({ history, health, pairs }: StatusBarProps) {
  const client = useStreamClient();
  const connection = useConnection(client);
  const { zone, setZone } = useTimeZone();
  useSecondTick();
  const now = Date.now();
  const latency = client?.latencyP50() ?? null;
  const rate = client?.totalTickRate() ?? 0;

  let stateText: string;
  switch (connection.state) {
    case 'live':
      stateText = 'Live';
      break;
    case 'connecting':
      stateText = 'Connecting…';
      break;
    case 'reconnecting':
    case 'offline': {
      const wait = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - now) / 1000)) : 0;
      const base = connection.state === 'offline' ? 'Offline' : 'Reconnecting';
      stateText = `${base}${connection.reason ? ` (${connection.reason})` : ''}${wait > 0 ? `, retry in ${wait}s` : ', retrying…'}`;
      break;
    }
  }

  const source = history?.source;
  return (
    <footer className="status-bar" aria-label="Status">
      <span className={`status-item conn ${connection.state}`} data-connection={connection.state}>
        <span className="dot" aria-hidden="true" />
        {stateText}
        {connection.state !== 'live' && connection.state !== 'connecting' && client && (
          <button type="button" className="link" onClick={() => client.retryNow()}>
            Retry now
          </button>
        )}
      </span>
      <span className="status-item" title="Tick timestamp to the painted frame that shows it, median of the last 5 s" data-latency={latency ?? ''}>
        <span className="label">Latency p50</span>
        <b>{formatLatency(latency)}</b>
      </span>
      <span className="status-item" title="Ticks received per second, all pairs">
        <span className="label">Ticks</span>
        <b>{formatRate(rate)}/s</b>
      </span>
      <span className="status-item">
        <span className="label">Pairs</span>
        <b>{pairs}</b>
      </span>
      <span className="spacer" />
      <span className="status-item" title="Where the chart's history was read: the Redis candle cache or PostgreSQL" data-source={source ?? ''}>
        <span className="label">History</span>
        <b className={source && source !== 'recent' ? `source ${source}` : ''}>
          {history?.status === 'loading' ? 'loading…' : history?.status === 'error' ? 'unavailable' : source ?? '–'}
        </b>
      </span>
      {health && (
        <span className={`status-item health ${health.status}`} title={`Persistence backlog: ${health.persistence.pending ?? '?'} ticks`}>
          <span className="label">Redis</span>
          <b className={health.redis.status}>{health.redis.kind}</b>
          <span className="label">DB</span>
          <b className={health.database.status}>{health.database.kind}</b>
        </span>
      )}
      <span className="status-item zone" role="radiogroup" aria-label="Time zone" title="The time zone of the whole page: axis, legend, clock and the day's change">
        {(['utc', 'local'] as const).map((z) => (
          <button key={z} type="button" role="radio" aria-checked={zone === z} className={zone === z ? 'active' : ''} data-zone={z} onClick={() => setZone(z)}>
            {z === 'utc' ? 'UTC' : 'Local'}
          </button>
        ))}
      </span>
      <span className="status-item clock" data-clock-zone={zone}>
        {formatClock(now, zone)} <span className="label">{zoneLabel(zone, now)}</span>
      </span>
    </footer>
  );
}
