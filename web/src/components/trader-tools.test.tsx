import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { AlertCenterContext } from '../hooks/useAlerts.js';
import { StreamClientContext } from '../hooks/useStreamClient.js';
import { AlertCenter } from '../lib/alert-center.js';
import type { ConnectionInfo, StreamClient } from '../lib/stream-client.js';
import type { Alert, ImportResponse } from '../lib/types.js';
import { AlertBanner } from './AlertBanner.js';
import { AlertsMenu } from './AlertsMenu.js';
import { ChartTools } from './ChartTools.js';
import { CsvMenu } from './CsvMenu.js';
import { ShortcutHelp } from './ShortcutHelp.js';
import { ChartTypeMenu, IndicatorMenu } from './Toolbar.js';

const upload = vi.hoisted(() => ({ impl: null as null | ((file: Blob, o: { onProgress?: (s: number, t: number) => void }) => Promise<ImportResponse>) }));
vi.mock('../lib/csv-transfer.js', async (original) => {
  const real = await original<typeof import('../lib/csv-transfer.js')>();
  return { ...real, uploadCsv: (file: Blob, o: { onProgress?: (s: number, t: number) => void }) => upload.impl!(file, o) };
});

afterEach(cleanup);

function menu(props: Partial<Parameters<typeof IndicatorMenu>[0]> = {}) {
  const onSettings = vi.fn();
  const onChange = vi.fn();
  render(<IndicatorMenu selected={['ema20', 'rsi14']} onChange={onChange} settings={{}} onSettings={onSettings} {...props} />);
  fireEvent.click(screen.getByRole('button', { name: /Indicators/ }));
  return { onSettings, onChange };
}

const input = (name: string) => document.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
const type = (name: string, value: string) => fireEvent.change(input(name), { target: { value } });

describe('indicator settings', () => {
  test('a period within the server catalog\'s range is applied; outside it the form says why and will not apply', () => {
    const { onSettings } = menu();
    fireEvent.click(screen.getByRole('button', { name: 'EMA 20 settings' }));
    expect(input('period').min).toBe('1');
    expect(input('period').max).toBe('200');
    type('period', '500');
    expect(screen.getByText('must be a whole number from 1 to 200 (default 20)')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Apply' }).disabled).toBe(true);
    type('period', '34');
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(onSettings).toHaveBeenCalledWith('ema20', { params: { period: 34 } });
  });

  test('a rule across parameters (MACD fast below slow); the defaults again store nothing', () => {
    const { onSettings } = menu({ settings: { macd: { params: { fast: 8, slow: 21, signal: 5 } } } });
    fireEvent.click(screen.getByRole('button', { name: 'MACD 8, 21, 5 settings' }));
    type('fast', '30');
    expect(screen.getByText('must be less than slow (got fast=30, slow=21)')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Defaults' }));
    expect(input('fast').value).toBe('12');
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(onSettings).toHaveBeenCalledWith('macd', null);
  });

  test('RSI levels within 0 to 100; an unselected indicator is added once set', () => {
    const { onSettings, onChange } = menu();
    fireEvent.click(screen.getByRole('button', { name: 'RSI 14 settings' }));
    type('level1', '120');
    expect(screen.getByText('must be a number from 0 to 100')).toBeTruthy();
    type('level1', '80');
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(onSettings).toHaveBeenCalledWith('rsi14', { params: { period: 14 }, levels: [30, 80] });
    fireEvent.click(screen.getByRole('button', { name: 'Stochastic 14, 3, 3 settings' }));
    type('period', '9');
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(onChange).toHaveBeenLastCalledWith(['ema20', 'rsi14', 'stochastic']);
  });

  test('two slots with the same indicator and parameters are refused (one key on the server)', () => {
    menu({ selected: ['ema20', 'ema50'] });
    fireEvent.click(screen.getByRole('button', { name: 'EMA 50 settings' }));
    type('period', '20');
    expect(screen.getByText('The same as EMA 20, already on the chart')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Apply' }).disabled).toBe(true);
  });
});

describe('chart type and tools', () => {
  test('the chart type menu offers the five types; the tick chart has none', () => {
    const onChange = vi.fn();
    const { rerender } = render(<ChartTypeMenu value="candles" onChange={onChange} />);
    fireEvent.click(screen.getByRole('button', { name: 'Chart type: Candles' }));
    expect(screen.getAllByRole('menuitemradio').map((b) => b.textContent)).toEqual(['Candles', 'Heikin-Ashi', 'Bars', 'Line', 'Area']);
    fireEvent.click(screen.getByText('Heikin-Ashi'));
    expect(onChange).toHaveBeenCalledWith('heikin-ashi');
    rerender(<ChartTypeMenu value="candles" onChange={onChange} disabled />);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Chart type: Candles' }).disabled).toBe(true);
  });

  test('tools toggle; delete needs a selected drawing', () => {
    const onTool = vi.fn();
    const onDelete = vi.fn();
    const { rerender } = render(<ChartTools tool="cursor" onTool={onTool} selected={false} onDelete={onDelete} onScreenshot={() => {}} fullscreen={false} onFullscreen={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Trend line' }));
    expect(onTool).toHaveBeenLastCalledWith('trend');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Delete the selected drawing' }).disabled).toBe(true);
    rerender(<ChartTools tool="trend" onTool={onTool} selected onDelete={onDelete} onScreenshot={() => {}} fullscreen={false} onFullscreen={() => {}} />);
    expect(screen.getByRole('button', { name: 'Trend line' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Trend line' }));
    expect(onTool).toHaveBeenLastCalledWith('cursor');
    fireEvent.click(screen.getByRole('button', { name: 'Delete the selected drawing' }));
    expect(onDelete).toHaveBeenCalled();
  });

  test('the help lists the shortcuts', () => {
    render(<ShortcutHelp open={true} onOpenChange={() => {}} />);
    const help = screen.getByRole('dialog', { name: 'Keyboard shortcuts' });
    expect(within(help).getByText('Draw a trend line')).toBeTruthy();
    expect(within(help).getByText('Chart fullscreen')).toBeTruthy();
  });
});

describe('alerts', () => {
  function setup(list: Alert[], price: number | null) {
    const posted: unknown[] = [];
    const fetch = (async (url: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === 'POST') {
        const body = JSON.parse(String(init.body));
        posted.push(body);
        const made: Alert = { id: 99, note: null, createdAt: 1, triggeredAt: null, trigger: null, ...body };
        return new Response(JSON.stringify(made), { status: 201 });
      }
      if (init?.method === 'DELETE') return new Response(null, { status: 204 });
      return new Response(JSON.stringify(list), { status: 200 });
    }) as typeof globalThis.fetch;
    const client = {
      connection: { state: 'live', attempt: 0, retryAt: null, reason: null } as ConnectionInfo,
      onAlert: () => () => {},
      subscribeConnection: () => () => {},
      stats: () => ({ price, prevPrice: null, timestamp: null, seq: null, rate: 0 }),
    } as unknown as StreamClient;
    const center = new AlertCenter(client, { fetch, storage: null });
    const gesture = vi.fn();
    render(
      <StreamClientContext.Provider value={client}>
        <AlertCenterContext.Provider value={center}>
          <AlertsMenu pair="EUR/USD_otc" onGesture={gesture} />
        </AlertCenterContext.Provider>
      </StreamClientContext.Provider>,
    );
    return { center, posted, gesture };
  }

  test('the form sets an alert at the price typed, on the side it lies from the current price', async () => {
    const { center, posted, gesture } = setup([], 1.085);
    await act(() => center.load());
    fireEvent.click(screen.getByRole('button', { name: /Alerts/ }));
    expect(input('price').value).toBe('1.08500');
    type('price', '1.0841');
    expect(screen.getByRole('radio', { name: '▼ below' }).getAttribute('aria-checked')).toBe('true');
    fireEvent.change(input('note'), { target: { value: 'support' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set alert' }));
    await waitFor(() => expect(posted).toEqual([{ pair: 'EUR/USD_otc', condition: 'below', price: 1.0841, note: 'support' }]));
    expect(gesture).toHaveBeenCalled();
    await waitFor(() => expect(document.querySelector('[data-alert-id="99"]')).toBeTruthy());
    // Chosen by hand, and already crossed: it says it fires on the next tick.
    fireEvent.click(screen.getByRole('radio', { name: '▲ above' }));
    expect(screen.getByText('Already crossed: fires on the next tick')).toBeTruthy();
  });

  test('the list: waiting and fired (when, at what price), each deletable', async () => {
    const fired: Alert = { id: 2, pair: 'EUR/USD_otc', condition: 'above', price: 1.09, note: 'breakout', createdAt: 1, triggeredAt: Date.UTC(2024, 10, 22, 12, 3, 20), trigger: { price: 1.09012, timestamp: Date.UTC(2024, 10, 22, 12, 3, 20) } };
    const waiting: Alert = { id: 1, pair: 'GBP/USD_otc', condition: 'below', price: 1.26, note: null, createdAt: 1, triggeredAt: null, trigger: null };
    const { center } = setup([fired, waiting], 1.085);
    await act(() => center.load());
    fireEvent.click(screen.getByRole('button', { name: /Alerts/ }));
    const rows = [...document.querySelectorAll('.alert-row')];
    expect(rows.map((r) => r.getAttribute('data-alert-state'))).toEqual(['waiting', 'fired']);
    expect(rows[1]!.textContent).toContain('fired 12:03:20 at 1.09012');
    expect(rows[1]!.textContent).toContain('breakout');
    fireEvent.click(screen.getByRole('button', { name: 'Delete alert GBP/USD_otc below 1.26' }));
    await waitFor(() => expect(document.querySelectorAll('.alert-row')).toHaveLength(1));
  });

  test('a banner per firing, saying when it fired while away', () => {
    const a: Alert = { id: 3, pair: 'USD/JPY_otc', condition: 'below', price: 149.5, note: null, createdAt: 1, triggeredAt: 5, trigger: { price: 149.49, timestamp: Date.UTC(2024, 0, 1, 8, 0, 0) } };
    const onDismiss = vi.fn();
    render(<AlertBanner items={[{ key: 'k', alert: a, away: true }]} onDismiss={onDismiss} />);
    expect(screen.getByRole('alert').textContent).toContain('USD/JPY_otc fell to 149.500');
    expect(screen.getByRole('alert').textContent).toContain('149.490 at 08:00:00 · while you were away');
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(onDismiss).toHaveBeenCalledWith('k');
  });
});

describe('CSV import', () => {
  const pick = (name: string, text: string) => {
    const file = new File([text], name, { type: 'text/csv' });
    fireEvent.change(document.querySelector('input[data-csv-input]')!, { target: { files: [file] } });
  };

  test('progress while it uploads, then what was imported', async () => {
    let finish!: (r: ImportResponse) => void;
    let progress!: (s: number, t: number) => void;
    upload.impl = (_file, o) => {
      progress = o.onProgress!;
      return new Promise((r) => (finish = r));
    };
    const onImported = vi.fn();
    render(<CsvMenu onImported={onImported} onExport={async () => {}} exportDisabled={false} />);
    pick('ticks.csv', 'pair,price,timestamp\nEUR/USD_otc,1.1,1700000000000\n');
    act(() => progress(20, 80));
    const bar = screen.getByRole<HTMLProgressElement>('progressbar', { name: 'Upload progress' });
    expect([bar.value, bar.max]).toEqual([20, 80]);
    await act(async () => finish({ imported: 120, duplicates: 3, invalid: 0, invalidLines: [] }));
    const result = document.querySelector('.csv-result')!;
    expect(result.textContent).toBe('120 new ticks3 duplicates0 invalid lines skipped');
    expect(onImported).toHaveBeenCalledWith({ imported: 120, duplicates: 3, invalid: 0, invalidLines: [] });
  });

  test('a refused file: the server\'s message and the bad lines, nothing imported', async () => {
    const { CsvImportError } = await import('../lib/csv-transfer.js');
    upload.impl = () => Promise.reject(new CsvImportError('2 invalid lines; nothing was imported', 400, ['line 3: price must be a number', 'line 7: timestamp is required'], 2));
    const onImported = vi.fn();
    render(<CsvMenu onImported={onImported} onExport={async () => {}} exportDisabled={false} />);
    pick('bad.csv', 'x');
    await waitFor(() => expect(screen.getByText('Nothing imported from bad.csv')).toBeTruthy());
    expect(screen.getByText('line 3: price must be a number')).toBeTruthy();
    expect(screen.getByText('line 7: timestamp is required')).toBeTruthy();
    expect(onImported).not.toHaveBeenCalled();
  });

  test('an import refused for want of the INGEST_TOKEN asks for it and sends the file again with it', async () => {
    const { CsvImportError } = await import('../lib/csv-transfer.js');
    const tokens: (string | null | undefined)[] = [];
    upload.impl = (_file, o) => {
      tokens.push((o as { ingestToken?: string | null }).ingestToken);
      return tokens.length === 1
        ? Promise.reject(new CsvImportError('Missing or wrong bearer token (Authorization: Bearer <INGEST_TOKEN>)', 401))
        : Promise.resolve({ imported: 1, duplicates: 0, invalid: 0, invalidLines: [] });
    };
    render(<CsvMenu onImported={() => {}} onExport={async () => {}} exportDisabled={false} />);
    pick('ticks.csv', 'x');
    await waitFor(() => expect(screen.getByLabelText('Ingest token')).toBeTruthy());
    fireEvent.change(screen.getByLabelText('Ingest token'), { target: { value: 's3cret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Import again' }));
    await waitFor(() => expect(document.querySelector('.csv-result')).toBeTruthy());
    expect(tokens).toEqual([null, 's3cret']);
    expect(sessionStorage.getItem('quflx.ingestToken')).toBe('s3cret');
  });
});
