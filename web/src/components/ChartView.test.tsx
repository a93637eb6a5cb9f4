import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { ChartController } from '../chart/chart-controller.js';
import { StreamClientContext } from '../hooks/useStreamClient.js';
import { registry } from '../lib/registry.js';
import type { ConnectionInfo, StreamClient, StreamItem, Watcher } from '../lib/stream-client.js';
import { ChartView } from './ChartView.js';

vi.mock('lightweight-charts', () => import('../test/fake-lightweight-charts.js'));

afterEach(cleanup);

/** A stream client stand-in: the test plays the server's part by handing frames to the watchers. */
function fakeClient(state: ConnectionInfo['state'] = 'live') {
  const watchers = new Map<string, Watcher>();
  const client = {
    connection: { state, attempt: 0, retryAt: null, reason: null } as ConnectionInfo,
    subscribeConnection: () => () => undefined,
    watch: (pair: string, w: Watcher) => {
      watchers.set(pair, w);
      return () => watchers.delete(pair);
    },
    notePainted: () => undefined,
  };
  return { client: client as unknown as StreamClient, frame: (pair: string, items: StreamItem[]) => act(() => watchers.get(pair)!.onItems(items)) };
}

function stubFetch(body: unknown, status = 200) {
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));
}

const ack = (candles: { time: number; close: number }[]): StreamItem => ({
  kind: 'snapshot',
  resync: false,
  ack: { ok: true, pair: 'EUR/USD_otc', ticks: [], seq: 0, timeframe: '1M', candles: candles.map((c) => ({ ...c, open: c.close, high: c.close, low: c.close, volume: 1 })) },
});

describe('ChartView', () => {
  test('loading, then the chart; the empty state when the pair has no bars yet', async () => {
    const fetchSpy = stubFetch({ pair: 'EUR/USD_otc', timeframe: '1M', source: 'cache', candles: [] });
    const { client, frame } = fakeClient();
    render(
      <StreamClientContext.Provider value={client}>
        <ChartView id="t1" pair="EUR/USD_otc" timeframe="1M" indicators={[]} />
      </StreamClientContext.Provider>,
    );
    expect(screen.getByRole('status').textContent).toContain('Loading EUR/USD_otc · 1M');
    frame('EUR/USD_otc', [ack([])]);
    await waitFor(() => expect(screen.getByText('No ticks for EUR/USD_otc yet')).toBeTruthy());
    frame('EUR/USD_otc', [ack([{ time: 60, close: 1.1 }])]);
    await waitFor(() => expect(screen.queryByText('No ticks for EUR/USD_otc yet')).toBeNull());
    const chart = registry.charts.get('t1') as ChartController;
    expect(chart.bars()).toHaveLength(1);
    fetchSpy.mockRestore();
  });

  test('a history error is shown with a retry while there is nothing to draw', async () => {
    const fetchSpy = stubFetch({ error: 'The database is not reachable yet; retry shortly' }, 503);
    const { client } = fakeClient('reconnecting');
    render(
      <StreamClientContext.Provider value={client}>
        <ChartView id="t2" pair="GBP/USD_otc" timeframe="5S" indicators={[]} />
      </StreamClientContext.Provider>,
    );
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('The database is not reachable yet; retry shortly'));
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy();
    fetchSpy.mockRestore();
  });
});
