import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { StreamClientContext } from '../hooks/useStreamClient.js';
import { MAX_INDICATORS } from '../lib/indicators.js';
import type { ConnectionInfo, StreamClient } from '../lib/stream-client.js';
import { TIMEFRAMES } from '../lib/timeframes.js';
import { PairList } from './PairList.js';
import { StatusBar } from './StatusBar.js';
import { IndicatorMenu, TimeframeSwitcher } from './Toolbar.js';

afterEach(cleanup);

const assets = [
  { pair: 'EUR/USD_otc', price: 1.08234, timestamp: 1 },
  { pair: 'USD/JPY_otc', price: 149.5, timestamp: 1 },
];

/** The parts of the stream client the status bar reads. */
function statusClient(connection: ConnectionInfo) {
  const listeners = new Set<() => void>();
  const client = {
    connection,
    subscribeConnection: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    latencyP50: () => 3.4,
    totalTickRate: () => 250,
    retryNow: vi.fn(),
  };
  return {
    client,
    set(next: ConnectionInfo) {
      client.connection = next;
      for (const l of listeners) l();
    },
  };
}

describe('PairList', () => {
  test('one row per pair with its price and change; a click selects', () => {
    const onSelect = vi.fn();
    render(<PairList assets={assets} status="ready" error={null} selected="EUR/USD_otc" dayOpens={{ 'USD/JPY_otc': 150 }} onSelect={onSelect} />);
    const rows = screen.getAllByRole('option');
    expect(rows.map((r) => r.dataset.pair)).toEqual(['EUR/USD_otc', 'USD/JPY_otc']);
    expect(rows[0]!.getAttribute('aria-selected')).toBe('true');
    expect(rows[0]!.textContent).toContain('EUR/USD');
    expect(rows[1]!.textContent).toContain('−0.33%'); // 149.5 against the day's open of 150
    fireEvent.click(rows[1]!);
    expect(onSelect).toHaveBeenCalledWith('USD/JPY_otc');
    fireEvent.keyDown(rows[0]!, { key: 'Enter' });
    expect(onSelect).toHaveBeenLastCalledWith('EUR/USD_otc');
  });

  test('stale and suspect pairs (from /health) carry a badge', () => {
    render(
      <PairList
        assets={assets}
        status="ready"
        error={null}
        selected={null}
        dayOpens={{}}
        feedFlags={{ stale: ['USD/JPY_otc'], suspect: ['EUR/USD_otc', 'USD/JPY_otc'] }}
        onSelect={() => {}}
      />,
    );
    const [eur, jpy] = screen.getAllByRole('option');
    expect(eur!.querySelector('.feed-flag.stale')).toBeNull();
    expect(eur!.querySelector('.feed-flag.suspect')?.textContent).toBe('SUSPECT');
    expect(jpy!.querySelector('.feed-flag.stale')?.textContent).toBe('STALE');
    expect(jpy!.querySelector('.feed-flag.suspect')).not.toBeNull();
  });

  test('loading, empty and error states', () => {
    const { rerender } = render(<PairList assets={[]} status="loading" error={null} selected={null} dayOpens={{}} onSelect={() => {}} />);
    expect(screen.getByLabelText('Loading pairs')).toBeTruthy();
    rerender(<PairList assets={[]} status="ready" error={null} selected={null} dayOpens={{}} onSelect={() => {}} />);
    expect(screen.getByText('No pairs yet')).toBeTruthy();
    rerender(<PairList assets={[]} status="error" error="The QuFLX server is not reachable" selected={null} dayOpens={{}} onSelect={() => {}} />);
    expect(screen.getByRole('alert').textContent).toContain('The QuFLX server is not reachable');
  });
});

describe('toolbar', () => {
  test('every timeframe is offered and the tick chart beside them, the active one checked', () => {
    const onChange = vi.fn();
    render(<TimeframeSwitcher value="1M" onChange={onChange} />);
    const buttons = screen.getAllByRole('radio');
    expect(buttons.map((b) => b.dataset.timeframe)).toEqual([...TIMEFRAMES, 'tick']);
    expect(buttons.filter((b) => b.getAttribute('aria-checked') === 'true').map((b) => b.dataset.timeframe)).toEqual(['1M']);
    fireEvent.click(buttons[0]!);
    expect(onChange).toHaveBeenCalledWith('5S');
    fireEvent.click(screen.getByText('Tick'));
    expect(onChange).toHaveBeenCalledWith('tick');
  });

  test('the indicator menu toggles overlays and oscillators, at most the server cap', () => {
    const onChange = vi.fn();
    const settings = { selected: ['ema20'], settings: {}, onSettings: () => {} };
    const { rerender } = render(<IndicatorMenu {...settings} onChange={onChange} />);
    fireEvent.click(screen.getByRole('button', { name: /Indicators/ }));
    expect(screen.getByText('Overlays · price pane')).toBeTruthy();
    fireEvent.click(screen.getByText('MACD 12, 26, 9'));
    expect(onChange).toHaveBeenLastCalledWith(['ema20', 'macd']);
    fireEvent.click(screen.getByText('EMA 20'));
    expect(onChange).toHaveBeenLastCalledWith([]);
    const ten = ['sma20', 'sma50', 'ema20', 'ema50', 'wma20', 'hma20', 'bollinger', 'donchian', 'rsi14', 'macd'];
    expect(ten).toHaveLength(MAX_INDICATORS);
    rerender(<IndicatorMenu {...settings} selected={ten} onChange={onChange} />);
    const atr = screen.getByText('ATR 14').closest('label')!;
    expect(atr.querySelector('input')!.disabled).toBe(true);
    expect(screen.getByText(`At most ${MAX_INDICATORS} at once`)).toBeTruthy();
    fireEvent.keyDown(document, { key: 'Escape' });
    expect(screen.queryByText('Overlays · price pane')).toBeNull();
  });
});

describe('StatusBar', () => {
  test('connection, latency, tick rate and where the history came from', async () => {
    const { client, set } = statusClient({ state: 'live', attempt: 0, retryAt: null, reason: null });
    render(
      <StreamClientContext.Provider value={client as unknown as StreamClient}>
        <StatusBar history={{ status: 'ready', source: 'cache', error: null, loadingOlder: false, exhausted: false }} health={null} pairs={5} />
      </StreamClientContext.Provider>,
    );
    const bar = screen.getByRole('contentinfo');
    expect(bar.textContent).toContain('Live');
    expect(bar.textContent).toContain('3.4 ms');
    expect(bar.textContent).toContain('250/s');
    expect(bar.querySelector('[data-source]')!.textContent).toContain('cache');
    act(() => set({ state: 'reconnecting', attempt: 2, retryAt: Date.now() + 2000, reason: 'connection lost' }));
    await waitFor(() => expect(bar.textContent).toContain('Reconnecting (connection lost), retry in 2s'));
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    expect(client.retryNow).toHaveBeenCalled();
  });
});
