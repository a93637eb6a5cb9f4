import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app.js';

/**
 * HTTP limits against a running QuFLX, with raw sockets that misbehave: bodies trickled one byte
 * at a time, headers that never end, bodies to routes that take none, and bodies far over the
 * size limit sent by Node's own fetch. Short limits are set for the test; the defaults are the
 * same mechanism with longer times.
 */

const LIMITS = { requestTimeoutMs: 3000, headersTimeoutMs: 2000, lingerMs: 2000 };
/** What the server may take beyond a limit before it acts (its timeout checks run every second), plus load. */
const SLACK_MS = 8000;

let t: TestApp;
let auth: TestApp;
beforeAll(async () => {
  [t, auth] = await Promise.all([startTestApp({}, { httpLimits: LIMITS }), startTestApp({ INGEST_TOKEN: 'secret' }, { httpLimits: LIMITS })]);
});
afterAll(async () => {
  await Promise.all([t?.close(), auth?.close()]);
});

interface Trickle {
  /** Resolves once connected. */
  connected: Promise<void>;
  /** Everything the server sent. */
  received(): string;
  /** Resolves with ms from the start when the server closed the connection. */
  closed: Promise<number>;
  stop(): void;
}

/**
 * Opens a raw connection, sends `head` (request line and headers, without the blank line unless
 * `endHeaders`), then one byte every `everyMs` until the server closes or stop().
 */
function trickle(url: string, head: string, { everyMs = 100, byte = ' ' } = {}): Trickle {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let data = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('data', (d) => (data += d.toString()));
  socket.on('error', () => undefined); // a write after the server closed: expected
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.on('connect', () => {
    socket.write(head);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(byte);
    }, everyMs);
  });
  void closed.then(() => clearInterval(timer));
  return {
    connected,
    received: () => data,
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

const bodyHead = (method: string, path: string, length: number, extra = '') =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

/** Fails if `p` has not resolved in `ms` (a hang fails the test instead of stalling it). */
async function before<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const jsonOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: string };

describe('bodies to routes that take none are refused at once', () => {
  test.each([
    ['an unknown route', 'POST', '/api/nothing-here', 404],
    ['a GET-only route', 'POST', '/api/candles', 404],
    ['a GET route given a body', 'GET', '/api/assets', 400],
  ])('%s: answered before the body arrives, then closed within the bound', async (_what, method, path, status) => {
    const c = trickle(t.url, bodyHead(method, path, 1_000_000));
    try {
      await before(waitFor(() => statusOf(c.received()) !== 0, 60_000), SLACK_MS, 'an answer');
      expect(statusOf(c.received())).toBe(status);
      expect(jsonOf(c.received()).error).toMatch(status === 404 ? /no route/i : /takes no (request )?body/i);
      const closedAfter = await before(c.closed, LIMITS.lingerMs + SLACK_MS, 'the server closing the trickle');
      expect(closedAfter).toBeGreaterThan(0);
    } finally {
      c.stop();
    }
  });

  test('also with INGEST_TOKEN set: a POST to an unknown route needs no credentials to be refused', async () => {
    const c = trickle(auth.url, bodyHead('POST', '/api/nothing-here', 1_000_000));
    try {
      await before(waitFor(() => statusOf(c.received()) !== 0, 60_000), SLACK_MS, 'an answer');
      expect(statusOf(c.received())).toBe(404);
      await before(c.closed, LIMITS.lingerMs + SLACK_MS, 'the server closing the trickle');
    } finally {
      c.stop();
    }
  });

  test('an unauthenticated POST /api/ticks is answered 401 at once and its trickled body does not hold the connection', async () => {
    const c = trickle(auth.url, bodyHead('POST', '/api/ticks', 1_000_000));
    try {
      await before(waitFor(() => statusOf(c.received()) !== 0, 60_000), SLACK_MS, 'an answer');
      expect(statusOf(c.received())).toBe(401);
      await before(c.closed, LIMITS.lingerMs + SLACK_MS, 'the server closing the trickle');
    } finally {
      c.stop();
    }
  });
});

describe('request, header and body time are bounded', () => {
  test('a body trickled to POST /api/ticks is cut at the request timeout with a 408', async () => {
    const c = trickle(t.url, bodyHead('POST', '/api/ticks', 1_000_000));
    try {
      await before(c.closed, LIMITS.requestTimeoutMs + SLACK_MS, 'the server closing the trickle');
      expect(statusOf(c.received())).toBe(408);
    } finally {
      c.stop();
    }
  });

  test('headers that never end are cut at the header timeout', async () => {
    const c = trickle(t.url, 'GET /api/assets HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', { byte: 'a' });
    try {
      await before(c.closed, LIMITS.headersTimeoutMs + SLACK_MS, 'the server closing the slow headers');
      expect([0, 408]).toContain(statusOf(c.received()));
    } finally {
      c.stop();
    }
  });

  test('300 trickling sockets at once are all answered or cut within the bound, and their connections are released', async () => {
    const server = t.app.gateway.io.httpServer;
    const connections = () => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
    const baseline = await connections();
    const heads = [
      bodyHead('POST', '/api/nothing-here', 10_000_000),
      bodyHead('POST', '/api/candles', 10_000_000),
      bodyHead('POST', '/api/ticks', 900_000), // under the size limit: read until the request timeout
    ];
    const all = Array.from({ length: 300 }, (_, i) => trickle(t.url, heads[i % heads.length]!, { everyMs: 250, byte: 'x'.repeat(512) }));
    try {
      // Refused ones may already be closed again (after lingering) before the last one connects.
      await before(Promise.all(all.map((c) => c.connected)), 30_000, 'every socket connected');
      const closedAfter = await before(Promise.all(all.map((c) => c.closed)), LIMITS.requestTimeoutMs + SLACK_MS + 10_000, 'every trickle closed');
      expect(closedAfter.length).toBe(300);
      await waitFor(async () => (await connections()) <= baseline, 10_000, 'connections released');
      for (const [i, c] of all.entries()) expect(statusOf(c.received()), `socket ${i}`).toBe([404, 404, 408][i % 3]);
    } finally {
      for (const c of all) c.stop();
    }
  }, 60_000);
});

describe('a body over the size limit', () => {
  const big = () => new Uint8Array(20 * 1024 * 1024).fill(0x20);
  /** 20 MB sent at a network's pace (1 MiB, then a short pause): still sending long after the answer. */
  const paced = () => {
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 20 * 1024 * 1024) return controller.close();
        sent += chunk.length;
        if (sent % (1024 * 1024) === 0) await new Promise((r) => setTimeout(r, 5));
        controller.enqueue(chunk);
      },
    });
  };
  const send = async (url: string, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, duplex: 'half' } as RequestInit);
    return { status: res.status, body: (await res.json()) as { error: string; details?: { field: string }[] } };
  };

  test.each([
    ['in one piece', big],
    ['streamed at a network pace', paced],
  ])('20 MB with Node fetch, %s: the client reads the 413 JSON answer', async (_how, body) => {
    for (let i = 0; i < 3; i++) {
      const res = await send(`${t.url}/api/ticks`, body());
      expect(res.status).toBe(413);
      expect(res.body.error).toMatch(/larger than 1048576 bytes/);
    }
  });

  test('20 MB to an unknown route: the client reads the 404', async () => {
    const res = await send(`${t.url}/api/nothing-here`, paced());
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/no route/i);
  });

  test('20 MB unauthenticated with INGEST_TOKEN set: the client reads the 401', async () => {
    const res = await send(`${auth.url}/api/ticks`, paced());
    expect(res.status).toBe(401);
  });

  test('the server still serves on a new connection afterwards', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
  });
});
