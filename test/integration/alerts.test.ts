import { describe, expect, test } from 'vitest';
import type { QuflxApp } from '../../src/app.js';
import type { FiredAlert } from '../../src/shared/events.js';
import type { Alert } from '../../src/shared/http.js';
import { collectorStarter } from '../helpers/socket-client.js';
import { proxyToTestDatabase } from '../helpers/tcp-proxy.js';
import { appStarter, deleteKeys, postTicks, startTestApp, TEST_DATABASE_URL, TEST_REDIS_URL, uniquePrefix, waitFor } from '../helpers/test-app.js';
import { createTestSchema } from '../helpers/test-db.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

const PAIR = 'EUR/USD_otc';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const app = appStarter(cleanups);
const collector = collectorStarter(cleanups);

/** A Socket.IO client that records every `alert` event it is sent. */
async function alertListener(url: string): Promise<FiredAlert[]> {
  const client = await collector(url);
  const got: FiredAlert[] = [];
  client.socket.on('alert', (a) => got.push(a));
  return got;
}

async function request(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
}

const createAlert = async (url: string, body: unknown) => {
  const res = await request(url, 'POST', '/api/alerts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Alert;
};
const listAlerts = async (url: string) => (await request(url, 'GET', '/api/alerts')).body as Alert[];

/** Posts one tick and waits until it is accepted (its alert check ran then). */
async function tick(url: string, price: number, timestamp = Date.now(), pair = PAIR): Promise<void> {
  const res = await postTicks(url, { pair, price, timestamp });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.accepted).toBe(1);
}

async function fired(a: QuflxApp): Promise<number> {
  return (await a.metrics.alertsFired.get()).values[0]?.value ?? 0;
}

/** Every claim this app started has ended, and a fired alert's echo on the channel had time to arrive. */
async function quiet(...apps: QuflxApp[]): Promise<void> {
  for (const a of apps) await a.alerts.settled();
  await sleep(300);
}

describe('price alerts', () => {
  test('an alert fires once, on the first tick at or beyond its level made after it; never before', async () => {
    const t = await app();
    const events = await alertListener(t.url);
    await tick(t.url, 1.0); // the instrument exists, named EUR/USD_otc
    // A crossing tick accepted before the alert was made, stamped in the future so only its seq says it came first.
    await tick(t.url, 1.2, Date.now() + 30_000);

    const made = await createAlert(t.url, { pair: 'EURUSD_otc', condition: 'above', price: 1.1, note: 'breakout' });
    expect(made).toMatchObject({ pair: PAIR, condition: 'above', price: 1.1, note: 'breakout', triggeredAt: null, trigger: null });
    expect(typeof made.id).toBe('number');
    expect(Math.abs(made.createdAt - Date.now())).toBeLessThan(60_000);
    await waitFor(() => t.app.alerts.watched === 1, 10_000, 'the alert watched');

    await tick(t.url, 1.09999); // short of the level
    await tick(t.url, 1.3, made.createdAt - 1); // beyond it, but stamped before the alert was made (a late tick)
    await quiet(t.app);
    expect(events).toEqual([]);
    expect((await listAlerts(t.url))[0]!.triggeredAt).toBeNull();

    const at = Date.now();
    await tick(t.url, 1.1, at); // touches the level exactly
    await waitFor(() => events.length === 1, 10_000, 'the alert event');
    await tick(t.url, 1.25); // beyond again: it has fired already
    await quiet(t.app);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: made.id, pair: PAIR, condition: 'above', price: 1.1, note: 'breakout', trigger: { price: 1.1, timestamp: at } });
    expect(events[0]!.triggeredAt).toBeGreaterThanOrEqual(made.createdAt);
    expect(await fired(t.app)).toBe(1);

    const [listed] = await listAlerts(t.url);
    expect(listed).toEqual(events[0]);
    expect(t.app.alerts.watched).toBe(0);
  });

  test('a below alert fires at or under its level; alerts of other pairs stay', async () => {
    const t = await app();
    const events = await alertListener(t.url);
    await tick(t.url, 1.0);
    await tick(t.url, 150, Date.now(), 'USD/JPY_otc');
    const below = await createAlert(t.url, { pair: PAIR, condition: 'below', price: 0.99 });
    const other = await createAlert(t.url, { pair: 'USD/JPY_otc', condition: 'below', price: 149 });
    await tick(t.url, 0.995);
    await tick(t.url, 148, Date.now() - 60_000, 'USD/JPY_otc'); // late: stamped before the alert
    await quiet(t.app);
    expect(events).toEqual([]);
    await tick(t.url, 0.98);
    await waitFor(() => events.length === 1, 10_000, 'the below alert');
    expect(events[0]).toMatchObject({ id: below.id, trigger: { price: 0.98 } });
    const listed = await listAlerts(t.url);
    expect(listed.find((a) => a.id === other.id)!.triggeredAt).toBeNull();
  });

  test('an alert on a pair nobody sent yet keeps the name given, and fires under the name its first tick gives the instrument', async () => {
    const t = await app();
    const events = await alertListener(t.url);
    const made = await createAlert(t.url, { pair: 'AUDCAD_otc', condition: 'above', price: 0.9 });
    expect(made.pair).toBe('AUDCAD_otc');
    await tick(t.url, 0.91, Date.now(), 'AUD/CAD_otc'); // the first tick of the symbol: its spelling is canonical
    await waitFor(() => events.length === 1, 10_000, 'the alert');
    expect(events[0]).toMatchObject({ id: made.id, pair: 'AUD/CAD_otc', trigger: { price: 0.91 } });
    expect((await listAlerts(t.url))[0]!.pair).toBe('AUD/CAD_otc');
  });

  test('an alert survives a restart: made, the process restarted, then crossed', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const first = await startTestApp({}, { db, prefix, keepKeys: true });
    await tick(first.url, 1.0);
    const made = await createAlert(first.url, { pair: PAIR, condition: 'above', price: 1.5 });
    await first.close();

    const second = await app({}, { db, prefix, keepKeys: true });
    const events = await alertListener(second.url);
    await waitFor(() => second.app.alerts.watched === 1, 15_000, 'the alert loaded from the database');
    expect(await listAlerts(second.url)).toEqual([made]);
    await tick(second.url, 1.49);
    await quiet(second.app);
    expect(events).toEqual([]);
    await tick(second.url, 1.51);
    await waitFor(() => events.length === 1, 10_000, 'the alert after the restart');
    expect(events[0]).toMatchObject({ id: made.id, trigger: { price: 1.51 } });
  });

  test('two processes sharing Redis and the database fire each alert exactly once, and both send it to their clients', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    const prefix = uniquePrefix();
    const a = await app({}, { db, prefix, keepKeys: true });
    const b = await app({}, { db, prefix });
    const onA = await alertListener(a.url);
    const onB = await alertListener(b.url);
    await tick(a.url, 1.0);

    // Made on A, crossed by a tick B takes (B learns of it by the notice, or from the recent ticks).
    const first = await createAlert(a.url, { pair: PAIR, condition: 'above', price: 1.1 });
    await tick(b.url, 1.15);
    await waitFor(() => onA.length === 1 && onB.length === 1, 15_000, 'the first alert on both processes');

    // Crossed on both at once: both try to claim it, one wins.
    const second = await createAlert(b.url, { pair: PAIR, condition: 'below', price: 0.9 });
    await waitFor(() => a.app.alerts.watched === 1 && b.app.alerts.watched === 1, 15_000, 'both watching the second alert');
    const now = Date.now();
    await Promise.all([tick(a.url, 0.85, now), tick(b.url, 0.86, now + 1)]);
    await waitFor(() => onA.length === 2 && onB.length === 2, 15_000, 'the second alert on both processes');
    await quiet(a.app, b.app);

    expect(onA.map((e) => e.id)).toEqual([first.id, second.id]);
    expect(onB).toEqual(onA);
    expect((await fired(a.app)) + (await fired(b.app))).toBe(2);
    expect([0.85, 0.86]).toContain(onA[1]!.trigger.price);
    const listed = await listAlerts(b.url);
    expect(listed).toEqual(onA);
  });

  test('a crossing while the database is down fires late, once, when it is back', async () => {
    const { proxy, urlFor } = await proxyToTestDatabase(TEST_DATABASE_URL);
    cleanups.push(() => proxy.close());
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    const t = await app({ DATABASE_URL: urlFor(db.schema), DATABASE_QUERY_TIMEOUT_MS: '2000' }, { db });
    const events = await alertListener(t.url);
    await tick(t.url, 1.0);
    const made = await createAlert(t.url, { pair: PAIR, condition: 'above', price: 1.1 });

    await proxy.cut();
    const at = Date.now();
    await tick(t.url, 1.2, at); // Redis takes it; the claim cannot reach the database
    await waitFor(async () => (await t.app.metrics.alertClaimRetries.get()).values[0]!.value >= 2, 30_000, 'claim retries');
    expect(events).toEqual([]);
    await tick(t.url, 1.3); // crossing again changes nothing: the first claim is still going

    await proxy.restore();
    await waitFor(() => events.length === 1, 30_000, 'the late alert');
    await quiet(t.app);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: made.id, trigger: { price: 1.2, timestamp: at } });
    expect(await fired(t.app)).toBe(1);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM alerts WHERE triggered_at IS NOT NULL');
    expect(rows[0].n).toBe(1);
  }, 90_000);

  test('bad alerts are refused with a 400 naming the field; nothing is stored', async () => {
    const t = await app({ MAX_ALERTS: '2' });
    const cases: [unknown, string][] = [
      [{ condition: 'above', price: 1 }, 'pair'],
      [{ pair: 'EUR USD', condition: 'above', price: 1 }, 'pair'],
      [{ pair: PAIR, condition: 'over', price: 1 }, 'condition'],
      [{ pair: PAIR, condition: 'above', price: '1.1' }, 'price'],
      [{ pair: PAIR, condition: 'above', price: -1 }, 'price'],
      [{ pair: PAIR, condition: 'above', price: 0 }, 'price'],
      [{ pair: PAIR, condition: 'above', price: 1, note: 'x'.repeat(201) }, 'note'],
      [[{ pair: PAIR, condition: 'above', price: 1 }], 'body'],
      ['{"pair": ', 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await request(t.url, 'POST', '/api/alerts', body);
      expect({ body, status: res.status, fields: res.body.details?.map((d: { field: string }) => d.field) }).toEqual({ body, status: 400, fields: [field] });
      expect(res.body.error).toMatch(field === 'body' ? /body|JSON/ : new RegExp(field));
    }
    const empty = await request(t.url, 'POST', '/api/alerts', '');
    expect(empty.status).toBe(400);
    expect(await listAlerts(t.url)).toEqual([]);

    // The bound on how many exist (MAX_ALERTS=2).
    const one = await createAlert(t.url, { pair: PAIR, condition: 'above', price: 1 });
    await createAlert(t.url, { pair: PAIR, condition: 'below', price: 1 });
    const full = await request(t.url, 'POST', '/api/alerts', { pair: PAIR, condition: 'above', price: 2 });
    expect(full.status).toBe(400);
    expect(full.body.details).toEqual([{ index: 0, field: 'alerts', message: expect.stringMatching(/at most 2 alerts/) }]);
    expect(full.body.error).toMatch(/MAX_ALERTS/);
    expect(await listAlerts(t.url)).toHaveLength(2);
    expect((await request(t.url, 'DELETE', `/api/alerts/${one.id}`)).status).toBe(204);
    await createAlert(t.url, { pair: PAIR, condition: 'above', price: 2 });
  });

  test('delete: 204, then gone from the list and never fires; an unknown id is a 404, a malformed one a 400', async () => {
    const t = await app();
    const events = await alertListener(t.url);
    await tick(t.url, 1.0);
    const keep = await createAlert(t.url, { pair: PAIR, condition: 'above', price: 1.2 });
    const gone = await createAlert(t.url, { pair: PAIR, condition: 'above', price: 1.1 });
    const del = await request(t.url, 'DELETE', `/api/alerts/${gone.id}`);
    expect(del).toEqual({ status: 204, body: null });
    expect((await listAlerts(t.url)).map((a) => a.id)).toEqual([keep.id]);
    await tick(t.url, 1.15);
    await quiet(t.app);
    expect(events).toEqual([]);

    expect(await request(t.url, 'DELETE', `/api/alerts/${gone.id}`)).toEqual({ status: 404, body: { error: `No alert with id ${gone.id}` } });
    const bad = await request(t.url, 'DELETE', '/api/alerts/abc');
    expect(bad.status).toBe(400);
    expect(bad.body.details[0].field).toBe('id');
  });

  test('with ACCESS_TOKEN set, reading, making and deleting alerts need it', async () => {
    const t = await app({ ACCESS_TOKEN: 'secret-token' });
    const auth = { authorization: 'Bearer secret-token' };
    expect((await request(t.url, 'POST', '/api/alerts', { pair: PAIR, condition: 'above', price: 1 })).status).toBe(401);
    expect((await request(t.url, 'GET', '/api/alerts')).status).toBe(401);
    const made = await request(t.url, 'POST', '/api/alerts', { pair: PAIR, condition: 'above', price: 1 }, auth);
    expect(made.status).toBe(201);
    expect((await request(t.url, 'DELETE', `/api/alerts/${made.body.id}`)).status).toBe(401);
    expect((await request(t.url, 'GET', '/api/alerts', undefined, auth)).body).toHaveLength(1);
    expect((await request(t.url, 'DELETE', `/api/alerts/${made.body.id}`, undefined, auth)).status).toBe(204);
  });
});
