import { createClient } from 'redis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postTicks, startTestApp, TEST_REDIS_URL, type TestApp } from '../helpers/test-app.js';

/**
 * Bad input against a real running QuFLX (real Redis and PostgreSQL): every case gets a JSON
 * error a person can read, nothing of it is stored, and the server keeps serving.
 */

let t: TestApp;
let auth: TestApp;
const sockets: Socket[] = [];

beforeAll(async () => {
  [t, auth] = await Promise.all([startTestApp(), startTestApp({ INGEST_TOKEN: 'secret' })]);
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all([t?.close(), auth?.close()]);
});

const PAIR = 'EUR/USD_otc';
const now = () => Date.now();
const good = (over: Record<string, unknown> = {}) => ({ pair: PAIR, price: 1.0823, timestamp: now() - 1000, ...over });

type Res = { status: number; body: any; headers: Headers };

/** Every error: JSON with a non-empty human-readable `error` string. */
function expectJsonError(res: Res, status: number): void {
  expect(res.status, `status; body: ${JSON.stringify(res.body)}`).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/application\/json/);
  expect(typeof res.body, `body should be parsed JSON, got ${JSON.stringify(res.body)}`).toBe('object');
  expect(res.body).not.toBeNull();
  expect(typeof res.body.error).toBe('string');
  expect(res.body.error.length).toBeGreaterThan(5);
}

/** A 400 from POST /api/ticks: JSON error plus a details array of { index, field, message }. */
function expect400(res: Res, field?: string, index = 0): void {
  expectJsonError(res, 400);
  expect(Array.isArray(res.body.details), `details should be an array: ${JSON.stringify(res.body)}`).toBe(true);
  expect(res.body.details.length).toBeGreaterThan(0);
  for (const d of res.body.details) {
    expect(typeof d.index).toBe('number');
    expect(typeof d.field).toBe('string');
    expect(typeof d.message).toBe('string');
    expect(d.message.length).toBeGreaterThan(0);
  }
  if (field !== undefined) {
    expect(res.body.details, JSON.stringify(res.body.details)).toContainEqual(
      expect.objectContaining({ index, field, message: expect.any(String) }),
    );
  }
}

async function get(url: string): Promise<Res> {
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* left as text; the assertions will say so */
  }
  return { status: res.status, body, headers: res.headers };
}

/** A raw JSON text body, sent as is (NaN, Infinity and broken JSON cannot go through JSON.stringify). */
const raw = (text: string, headers: Record<string, string> = {}) => postTicks(t.url, text, headers);

describe('POST /api/ticks: numbers JSON cannot carry', () => {
  test('NaN as a bare literal is invalid JSON -> 400', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":NaN,"timestamp":${now()}}`));
  });

  test('Infinity as a bare literal is invalid JSON -> 400', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":Infinity,"timestamp":${now()}}`));
  });

  test('-Infinity as a bare literal is invalid JSON -> 400', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":-Infinity,"timestamp":${now()}}`));
  });

  test('1e999 parses to Infinity -> 400 naming price', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":1e999,"timestamp":${now()}}`), 'price');
  });

  test('-1e999 parses to -Infinity -> 400 naming price', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":-1e999,"timestamp":${now()}}`), 'price');
  });

  test('a timestamp of 1e999 -> 400 naming timestamp', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":1.1,"timestamp":1e999}`), 'timestamp');
  });
});

describe('POST /api/ticks: bad price', () => {
  test('a string price -> 400 price', async () => {
    const res = await postTicks(t.url, good({ price: '1.0823' }));
    expect400(res, 'price');
  });

  test('a negative price -> 400 price', async () => {
    expect400(await postTicks(t.url, good({ price: -1.0823 })), 'price');
  });

  test('a zero price -> 400 price', async () => {
    expect400(await postTicks(t.url, good({ price: 0 })), 'price');
  });

  test('a null price -> 400 price', async () => {
    expect400(await postTicks(t.url, good({ price: null })), 'price');
  });

  test('a missing price -> 400 price', async () => {
    expect400(await postTicks(t.url, { pair: PAIR, timestamp: now() }), 'price');
  });
});

describe('POST /api/ticks: bad timestamp', () => {
  test('a fractional timestamp -> 400 timestamp', async () => {
    expect400(await postTicks(t.url, good({ timestamp: now() - 1000 + 0.5 })), 'timestamp');
  });

  test('a timestamp 10 minutes in the future -> 400 timestamp', async () => {
    expect400(await postTicks(t.url, good({ timestamp: now() + 600_000 })), 'timestamp');
  });

  test('a string timestamp -> 400 timestamp', async () => {
    expect400(await postTicks(t.url, good({ timestamp: String(now()) })), 'timestamp');
  });

  test('an ISO date string timestamp -> 400 timestamp', async () => {
    expect400(await postTicks(t.url, good({ timestamp: new Date().toISOString() })), 'timestamp');
  });

  test('a negative timestamp -> 400 timestamp', async () => {
    expect400(await postTicks(t.url, good({ timestamp: -1 })), 'timestamp');
  });
});

describe('POST /api/ticks: bad pair', () => {
  test.each([
    ['over-long (33 chars)', 'A'.repeat(33)],
    ['very long (10 000 chars)', 'A'.repeat(10_000)],
    ['with a space', 'EUR USD_otc'],
    ['with a leading /', '/EUR/USD_otc'],
    ['with unicode', 'EUR/USD_ötc'],
    ['with an emoji', 'EUR/USD💶'],
    ['empty', ''],
    ['SQL text', "EUR'; DROP TABLE x;--"],
    ['path text', '../../etc/passwd'],
    ['a Redis glob', 'EUR*'],
    ['with a colon', 'EUR:USD'],
    ['with a NUL byte', 'EUR\u0000USD'],
  ])('a pair %s -> 400 pair', async (_what, pair) => {
    expect400(await postTicks(t.url, good({ pair })), 'pair');
  });

  test('a pair that is an object (operator injection) -> 400 pair', async () => {
    expect400(await postTicks(t.url, good({ pair: { $gt: '' } })), 'pair');
  });

  test('a missing pair -> 400 pair', async () => {
    expect400(await postTicks(t.url, { price: 1.1, timestamp: now() }), 'pair');
  });
});

describe('POST /api/ticks: bad id', () => {
  test('an object id -> 400 id', async () => {
    expect400(await postTicks(t.url, good({ id: { a: 1 } })), 'id');
  });

  test('a fractional id -> 400 id', async () => {
    expect400(await postTicks(t.url, good({ id: 1.5 })), 'id');
  });

  test('an empty string id -> 400 id', async () => {
    expect400(await postTicks(t.url, good({ id: '' })), 'id');
  });

  test('ids with lone surrogates -> 400 id, naming each; they do not collapse into one stored id', async () => {
    // JSON escapes are the only way to send a lone surrogate: the body is sent as raw text.
    const ts = now() - 2000;
    const body = `[{"pair":"${PAIR}","price":1.5,"timestamp":${ts},"id":"\\ud800"},{"pair":"${PAIR}","price":1.5,"timestamp":${ts},"id":"\\udc00"}]`;
    const res = await postTicks(t.url, body);
    expect400(res, 'id', 0);
    expect(res.body.details).toContainEqual({ index: 1, field: 'id', message: expect.stringMatching(/lone surrogate/) });
  });
});

describe('POST /api/ticks: bad bodies', () => {
  test('invalid JSON -> 400', async () => {
    expect400(await raw('{"pair":"EUR/USD_otc","price":'));
  });

  test('a trailing comma -> 400', async () => {
    expect400(await raw(`{"pair":"EUR/USD_otc","price":1.1,"timestamp":${now()},}`));
  });

  test('deeply nested JSON (100 000 nested arrays) -> 400, no crash', async () => {
    const depth = 100_000;
    expect400(await raw('['.repeat(depth) + ']'.repeat(depth)));
  });

  test('deeply nested JSON objects (50 000 levels) -> 400, no crash', async () => {
    const depth = 50_000;
    expect400(await raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));
  });

  test('a literal null body -> 400', async () => {
    expect400(await raw('null'));
  });

  test('an empty body with a JSON content type -> 400', async () => {
    expect400(await raw(''));
  });

  test('an empty array -> 400', async () => {
    expect400(await raw('[]'));
  });

  test('a JSON number -> 400', async () => {
    expect400(await raw('42'));
  });

  test('a JSON string -> 400', async () => {
    expect400(await raw('"EUR/USD_otc 1.08"'));
  });

  test('a __proto__ key (prototype pollution) -> 400 that says the key is forbidden, not that the JSON is bad', async () => {
    for (const body of [
      `{"__proto__":{"polluted":true},"pair":"EUR/USD_otc","price":1.1,"timestamp":${now()}}`,
      `[{"pair":"EUR/USD_otc","price":1.1,"timestamp":${now()},"constructor":{"prototype":{"polluted":true}}}]`,
    ]) {
      const res = await raw(body);
      expect400(res, 'body');
      expect(res.body.error).toMatch(/forbidden key/);
      expect(res.body.error).not.toMatch(/not valid JSON/);
    }
  });

  test('broken JSON -> 400 that says where', async () => {
    const res = await raw('{"pair": "EUR/USD_otc", "price": 1.1,, "timestamp": 1}');
    expect400(res, 'body');
    expect(res.body.error).toMatch(/not valid JSON: .*position \d+/);
  });

  test('one bad tick in a batch of 3 valid ones -> 400 naming index and field, nothing stored', async () => {
    const pair = 'BATCH/GOOD_otc';
    const ts = now() - 5000;
    const batch = [
      { pair, price: 1.1, timestamp: ts },
      { pair, price: 1.2, timestamp: ts + 1 },
      { pair, price: -3, timestamp: ts + 2 }, // the bad one
      { pair, price: 1.3, timestamp: ts + 3 },
    ];
    const res = await postTicks(t.url, batch);
    expect400(res, 'price', 2);
    // only the bad tick is named
    expect(res.body.details.every((d: { index: number }) => d.index === 2)).toBe(true);
    const ticks = await get(`${t.url}/api/ticks?pair=${encodeURIComponent(pair)}`);
    expect(ticks.status).toBe(200);
    expect(ticks.body).toEqual([]);
  });

  test('several bad ticks in a batch -> every one named', async () => {
    const batch = [good({ pair: '' }), good(), good({ price: 'x', timestamp: 1.5 })];
    const res = await postTicks(t.url, batch);
    expect400(res, 'pair', 0);
    expect(res.body.details).toContainEqual(expect.objectContaining({ index: 2, field: 'price' }));
    expect(res.body.details).toContainEqual(expect.objectContaining({ index: 2, field: 'timestamp' }));
  });

  test('an oversized body (> 1 MiB) -> 413', async () => {
    // A valid tick padded past 1 MiB: if the limit were not enforced it would be stored and found below.
    const body = JSON.stringify({ pair: 'BIG/USD_otc', price: 1.1, timestamp: now() - 1000, pad: 'x'.repeat(1024 * 1024 + 10) });
    const res = await raw(body);
    expectJsonError(res, 413);
  });

  test('a JSON body of 1 MiB of valid ticks in an array over the limit -> 413', async () => {
    const one = { pair: 'BIG/USD_otc', price: 1.1, timestamp: now() - 1000 };
    const many = Array.from({ length: 30_000 }, (_, i) => ({ ...one, timestamp: one.timestamp - i }));
    const body = JSON.stringify(many);
    expect(body.length).toBeGreaterThan(1024 * 1024);
    expectJsonError(await raw(body), 413);
  });
});

describe('POST /api/ticks: content type', () => {
  test('text/plain -> 415', async () => {
    expectJsonError(await raw(JSON.stringify(good()), { 'content-type': 'text/plain' }), 415);
  });

  test('application/x-www-form-urlencoded -> 415', async () => {
    expectJsonError(
      await raw(`pair=EUR%2FUSD_otc&price=1.1&timestamp=${now()}`, { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
    );
  });

  test('multipart/form-data -> 415', async () => {
    expectJsonError(await raw('--x\r\n\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }), 415);
  });

  test('application/xml -> 415', async () => {
    expectJsonError(await raw('<tick pair="EUR/USD_otc"/>', { 'content-type': 'application/xml' }), 415);
  });
});

describe('POST /api/ticks with INGEST_TOKEN set', () => {
  const tick = () => ({ pair: 'AUTH/NO_otc', price: 1.1, timestamp: now() - 1000 });

  test('a missing token -> 401', async () => {
    expectJsonError(await postTicks(auth.url, tick()), 401);
  });

  test('a wrong token -> 401', async () => {
    expectJsonError(await postTicks(auth.url, tick(), { authorization: 'Bearer wrong' }), 401);
  });

  test('a token that only starts like the right one -> 401', async () => {
    expectJsonError(await postTicks(auth.url, tick(), { authorization: 'Bearer secretX' }), 401);
  });

  test('the right token in the wrong scheme -> 401', async () => {
    expectJsonError(await postTicks(auth.url, tick(), { authorization: 'Basic secret' }), 401);
  });

  test('a missing token with a bad body is still 401 (auth comes first)', async () => {
    expectJsonError(await postTicks(auth.url, '{broken'), 401);
  });

  test('the right token -> 202', async () => {
    const res = await postTicks(auth.url, { pair: 'AUTH/OK_otc', price: 1.1, timestamp: now() - 1000 }, { authorization: 'Bearer secret' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0 });
  });

  test('nothing of the unauthorised posts was stored', async () => {
    const res = await get(`${auth.url}/api/assets`);
    expect(res.status).toBe(200);
    expect(res.body.map((a: { pair: string }) => a.pair)).toEqual(['AUTH/OK_otc']);
    expect((await get(`${auth.url}/api/ticks?pair=AUTH/NO_otc`)).body).toEqual([]);
  });
});

describe('GET /api/ticks: bad query', () => {
  test('a missing pair -> 400', async () => {
    expectJsonError(await get(`${t.url}/api/ticks`), 400);
  });

  test('an empty pair -> 400', async () => {
    expectJsonError(await get(`${t.url}/api/ticks?pair=`), 400);
  });

  test('a bad pair (path text) -> 400', async () => {
    expectJsonError(await get(`${t.url}/api/ticks?pair=${encodeURIComponent('../../etc/passwd')}`), 400);
  });

  test('a bad pair (Redis glob) -> 400', async () => {
    expectJsonError(await get(`${t.url}/api/ticks?pair=${encodeURIComponent('*')}`), 400);
  });

  test('the pair given twice -> 400', async () => {
    expectJsonError(await get(`${t.url}/api/ticks?pair=EUR/USD_otc&pair=GBP/USD_otc`), 400);
  });

  test.each(['0', '-1', 'abc', '100000', '1.5', '1e2'])('limit=%s -> 400', async (limit) => {
    expectJsonError(await get(`${t.url}/api/ticks?pair=EUR/USD_otc&limit=${limit}`), 400);
  });
});

describe('unknown routes', () => {
  test('GET /api/nope -> 404 JSON', async () => {
    expectJsonError(await get(`${t.url}/api/nope`), 404);
  });

  test('POST /api/nope -> 404 JSON', async () => {
    const res = await fetch(`${t.url}/api/nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expectJsonError({ status: res.status, body: await res.json(), headers: res.headers }, 404);
  });

  test('a path-traversal URL -> 404 JSON', async () => {
    expectJsonError(await get(`${t.url}/api/..%2F..%2Fetc%2Fpasswd`), 404);
  });
});

describe('Socket.IO subscribe with garbage', () => {
  let socket: Socket;

  beforeAll(async () => {
    socket = io(t.url, { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
  });

  test.each([
    ['undefined', undefined, /pair/i],
    ['null', null, /pair/i],
    ['42', 42, /pair/i],
    ['a bare string', 'EUR/USD_otc', /pair/i],
    ['[]', [], /pair/i],
    ['{}', {}, /pair/i],
    ["{ pair: '' }", { pair: '' }, /pair/i],
    ['a 100-char pair', { pair: 'x'.repeat(100) }, /pair/i],
    ["timeframe '7M'", { pair: 'EUR/USD_otc', timeframe: '7M' }, /timeframe/i],
    ['{ pair: { $gt: "" } }', { pair: { $gt: '' } }, /pair/i],
    ['a path pair', { pair: '../../etc/passwd' }, /pair/i],
    ['a numeric timeframe', { pair: 'EUR/USD_otc', timeframe: 60 }, /timeframe/i],
  ])('%s -> { ok: false, error }', async (_what, payload, names) => {
    const ack = await socket.timeout(5000).emitWithAck('subscribe', payload);
    expect(ack).toEqual({ ok: false, error: expect.any(String) });
    expect(ack.error.length).toBeGreaterThan(5);
    expect(ack.error).toMatch(names);
  });

  test('subscribe without an ack, and garbage unsubscribe, do not break the connection', async () => {
    socket.emit('subscribe', { pair: 'EUR/USD_otc' });
    socket.emit('subscribe', null);
    socket.emit('unsubscribe', null);
    socket.emit('unsubscribe', 42);
    const ack = await socket.timeout(5000).emitWithAck('unsubscribe', { pair: '' });
    expect(ack).toEqual({ ok: false, error: expect.any(String) });
    expect(socket.connected).toBe(true);
  });

  test('a valid subscribe still works afterwards', async () => {
    const ack = await socket.timeout(5000).emitWithAck('subscribe', { pair: 'EUR/USD_otc' });
    expect(ack).toMatchObject({ ok: true, seq: 0, ticks: [] });
    expect(socket.connected).toBe(true);
  });

  test('a fresh socket can subscribe too', async () => {
    const s2 = io(t.url, { transports: ['websocket'], reconnection: false });
    sockets.push(s2);
    const ack = await s2.timeout(5000).emitWithAck('subscribe', { pair: 'GBP/USD_otc', timeframe: '1m' });
    expect(ack).toMatchObject({ ok: true, seq: 0, ticks: [] });
  });
});

describe('after all the bad input', () => {
  test('GET /health answers 200 with Redis and the database up', async () => {
    const res = await get(`${t.url}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', redis: { status: 'up' }, database: { status: 'up' } });
    expect((await get(`${auth.url}/health`)).status).toBe(200);
  });

  test('a valid tick is still accepted', async () => {
    // On a pair of its own, so the checks below can tell it apart from the bad ones.
    const res = await postTicks(t.url, { pair: 'STILL/OK_otc', price: 1.5, timestamp: now() - 1000 });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0 });
  });

  test('Redis holds none of the bad ticks', async () => {
    const client = createClient({ url: TEST_REDIS_URL, RESP: 2 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const found: string[] = [];
      for await (const keys of client.scanIterator({ MATCH: `${t.prefix}ticks:*`, COUNT: 1000 })) found.push(...keys);
      expect(found).toEqual([`${t.prefix}ticks:STILLOK_otc`]);
      const stored = await client.lRange(`${t.prefix}ticks:STILLOK_otc`, 0, -1);
      expect(stored).toHaveLength(1);
      expect(JSON.parse(stored[0]!)).toMatchObject({ pair: 'STILL/OK_otc', price: 1.5, seq: 1 });

      const authKeys: string[] = [];
      for await (const keys of client.scanIterator({ MATCH: `${auth.prefix}ticks:*`, COUNT: 1000 })) authKeys.push(...keys);
      expect(authKeys).toEqual([`${auth.prefix}ticks:AUTHOK_otc`]);
    } finally {
      await client.close();
    }
  });

  test('GET /api/assets lists only the one good pair', async () => {
    const res = await get(`${t.url}/api/assets`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ pair: 'STILL/OK_otc', price: 1.5, timestamp: expect.any(Number) }]);
  });
});
