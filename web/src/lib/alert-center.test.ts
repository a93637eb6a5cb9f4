import { describe, expect, test } from 'vitest';
import { AlertCenter, type AlertNews } from './alert-center.js';
import type { ConnectionInfo, StreamClient } from './stream-client.js';
import type { Alert, FiredAlert } from './types.js';

const alert = (over: Partial<Alert> = {}): Alert => ({ id: 1, pair: 'EUR/USD_otc', condition: 'above', price: 1.085, note: null, createdAt: 1000, triggeredAt: null, trigger: null, ...over });

/** The server's side for the list: GET answers `list`, POST adds, DELETE removes. */
function server(list: Alert[]) {
  const calls: string[] = [];
  const fetch: typeof globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    calls.push(`${method} ${url}`);
    if (method === 'POST') {
      const body = JSON.parse(String(init!.body));
      const made = alert({ id: list.length + 10, ...body });
      list.push(made);
      return new Response(JSON.stringify(made), { status: 201 });
    }
    if (method === 'DELETE') {
      const id = Number(url.split('/').pop());
      const i = list.findIndex((a) => a.id === id);
      if (i < 0) return new Response(JSON.stringify({ error: `No alert with id ${id}` }), { status: 404 });
      list.splice(i, 1);
      return new Response(null, { status: 204 });
    }
    return new Response(JSON.stringify(list), { status: 200 });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

/** A stream client stand-in: the test fires alert events and moves the connection. */
function link() {
  let onAlert: ((a: FiredAlert) => void) | null = null;
  let onConn: (() => void) | null = null;
  const c = {
    connection: { state: 'live', attempt: 0, retryAt: null, reason: null } as ConnectionInfo,
    onAlert: (l: (a: FiredAlert) => void) => ((onAlert = l), () => (onAlert = null)),
    subscribeConnection: (l: () => void) => ((onConn = l), () => (onConn = null)),
  };
  return {
    client: c as unknown as StreamClient,
    fire: (a: FiredAlert) => onAlert?.(a),
    state: (state: ConnectionInfo['state']) => {
      c.connection = { ...c.connection, state };
      onConn?.();
    },
  };
}

function memory(seenAt?: number) {
  const m = new Map<string, string>();
  if (seenAt !== undefined) m.set('quflx.alerts.seenAt', String(seenAt));
  return { m, storage: { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) } };
}

describe('AlertCenter', () => {
  test('loads the list; makes and deletes alerts; a live firing updates the alert and is news once', async () => {
    const list = [alert({ id: 1 })];
    const { fetch } = server(list);
    const l = link();
    const { storage } = memory(500);
    const center = new AlertCenter(l.client, { fetch, storage });
    const news: AlertNews[] = [];
    center.onNews((n) => news.push(n));
    await center.load();
    expect(center.snapshot()).toMatchObject({ status: 'ready', alerts: [{ id: 1 }] });
    const made = await center.create({ pair: 'GBP/USD_otc', condition: 'below', price: 1.27 });
    expect(center.forPair('GBP/USD_otc')).toEqual([made]);
    l.fire({ ...alert({ id: 1 }), triggeredAt: 2000, trigger: { price: 1.0851, timestamp: 1990 } });
    l.fire({ ...alert({ id: 1 }), triggeredAt: 2000, trigger: { price: 1.0851, timestamp: 1990 } }); // told once
    expect(news).toEqual([{ alert: expect.objectContaining({ id: 1, triggeredAt: 2000 }), away: false }]);
    // Fired ones after the waiting ones.
    expect(center.snapshot().alerts.map((a) => [a.id, a.triggeredAt])).toEqual([
      [made.id, null],
      [1, 2000],
    ]);
    await center.remove(1);
    await center.remove(1); // gone already (404): forgotten all the same
    expect(center.snapshot().alerts.map((a) => a.id)).toEqual([made.id]);
  });

  test('fired while the page was closed: news on opening (after the last one seen), shown as fired', async () => {
    const list = [alert({ id: 1, triggeredAt: 400, trigger: { price: 1.09, timestamp: 400 } }), alert({ id: 2, triggeredAt: 900, trigger: { price: 1.09, timestamp: 899 } }), alert({ id: 3 })];
    const { fetch } = server(list);
    const { storage, m } = memory(500);
    const center = new AlertCenter(link().client, { fetch, storage });
    const news: AlertNews[] = [];
    center.onNews((n) => news.push(n));
    await center.load();
    expect(news).toEqual([{ alert: expect.objectContaining({ id: 2 }), away: true }]);
    expect(m.get('quflx.alerts.seenAt')).toBe('900');
    await center.load(); // seen now: not news again
    expect(news).toHaveLength(1);
  });

  test('a browser\'s first visit: fired alerts are listed, not news', async () => {
    const { fetch } = server([alert({ id: 1, triggeredAt: 400, trigger: { price: 1.09, timestamp: 400 } })]);
    const { storage } = memory();
    const center = new AlertCenter(link().client, { fetch, storage });
    const news: AlertNews[] = [];
    center.onNews((n) => news.push(n));
    await center.load();
    expect(news).toEqual([]);
    expect(center.snapshot().alerts[0]!.triggeredAt).toBe(400);
  });

  test('after a reconnect the list is loaded again: what fired meanwhile is news', async () => {
    const list = [alert({ id: 1 })];
    const { fetch, calls } = server(list);
    const l = link();
    const { storage } = memory(500);
    const center = new AlertCenter(l.client, { fetch, storage });
    const news: AlertNews[] = [];
    center.onNews((n) => news.push(n));
    await center.load();
    l.state('reconnecting');
    list[0] = alert({ id: 1, triggeredAt: 3000, trigger: { price: 1.09, timestamp: 2990 } });
    l.state('live');
    await new Promise((r) => setTimeout(r, 10));
    expect(calls.filter((c) => c.startsWith('GET'))).toHaveLength(2);
    expect(news).toEqual([{ alert: expect.objectContaining({ id: 1, triggeredAt: 3000 }), away: true }]);
  });
});
