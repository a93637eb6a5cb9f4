import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt, WEB_DIST } from '../helpers/browser.js';
import { makeTicks } from '../helpers/socket-client.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * What a default install shows to the world: security headers on the page, Socket.IO only for
 * the page's own origin (plus ALLOWED_ORIGINS), only loopback Host names on a loopback bind (no
 * DNS rebinding), and ACCESS_TOKEN guarding reads and the live stream when set.
 */

const ALLOWED = 'https://desk.example.com';
let open: TestApp;
let guarded: TestApp;
beforeAll(async () => {
  await ensureWebBuilt();
  [open, guarded] = await Promise.all([
    startTestApp({ ALLOWED_ORIGINS: ALLOWED }),
    startTestApp({ ACCESS_TOKEN: 'read-secret' }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()]);
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

/** A request with headers fetch would not let us set (Host), on a fresh connection. */
function request(url: string, path: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer')));
    req.end(body);
  });
}

const hostOf = (url: string) => new URL(url).host;
const handshakePath = '/socket.io/?EIO=4&transport=polling';

/** Connects a websocket Socket.IO client; resolves 'connected' or the connect_error message. */
function connect(url: string, options: { origin?: string; token?: string } = {}): Promise<string> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    extraHeaders: options.origin ? { origin: options.origin } : {},
    auth: options.token ? { token: options.token } : {},
  });
  return new Promise<string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve(`refused: ${err.message}`));
  }).finally(() => socket.disconnect());
}

describe('security headers', () => {
  test('the page: a CSP that allows its own inline script by hash, no framing, nosniff, a referrer policy', async () => {
    const res = await request(open.url, '/', { headers: { host: hostOf(open.url) } });
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    // Exactly 'self' plus the hash of each inline script the built page has.
    const html = readFileSync(join(WEB_DIST, 'index.html'), 'utf8');
    const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
      (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
    );
    expect(inline.length).toBeGreaterThan(0);
    expect(directives.get('script-src')).toEqual(["'self'", ...inline]);
    expect(csp).not.toMatch(/unsafe-eval/);
    expect(directives.get('script-src')).not.toContain("'unsafe-inline'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  test('API answers carry them too', async () => {
    const res = await request(open.url, '/api/assets', { headers: { host: hostOf(open.url) } });
    expect(res.status).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });
});

describe('Host check on a loopback bind (DNS rebinding)', () => {
  test.each(['localhost', 'localhost:3000', '127.0.0.1', '[::1]:1234'])('Host %s is served', async (host) => {
    expect((await request(open.url, '/api/assets', { headers: { host } })).status).toBe(200);
  });

  test('another name gets a clear 403, for the page, reads, health and ingest, and nothing is taken', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/api/assets'],
      ['GET', '/health'],
      ['POST', '/api/ticks'],
    ] as const) {
      const ticks = makeTicks('REBIND/USD_otc', 2);
      const res = await request(open.url, path, {
        method,
        headers: { host: `rebind.evil.example:${new URL(open.url).port}`, 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify(ticks) : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json().error).toMatch(/Host "rebind\.evil\.example:\d+" is not served/);
    }
    const assets = (await request(open.url, '/api/assets', { headers: { host: hostOf(open.url) } })).json() as { pair: string }[];
    expect(assets.map((a) => a.pair)).not.toContain('REBIND/USD_otc');
  });

  test('no Socket.IO handshake under another name', async () => {
    const refused = await request(open.url, handshakePath, { headers: { host: 'rebind.evil.example' } });
    expect(refused.status).toBe(403);
    expect(refused.json().message).toMatch(/not served/);
    expect((await request(open.url, handshakePath, { headers: { host: hostOf(open.url) } })).status).toBe(200);
  });
});

describe('Socket.IO origins', () => {
  test('the page\'s own origin, ALLOWED_ORIGINS and non-browser clients connect', async () => {
    expect(await connect(open.url)).toBe('connected');
    expect(await connect(open.url, { origin: new URL(open.url).origin })).toBe('connected');
    expect(await connect(open.url, { origin: ALLOWED })).toBe('connected');
  });

  test('any other origin is refused at the handshake, over WebSocket and long-polling', async () => {
    expect(await connect(open.url, { origin: 'http://evil.example' })).toMatch(/^refused/);
    expect(await connect(open.url, { origin: 'http://127.0.0.1:1' })).toMatch(/^refused/);
    const polling = await request(open.url, handshakePath, { headers: { host: hostOf(open.url), origin: 'http://evil.example' } });
    expect(polling.status).toBe(403);
    expect(polling.json().message).toMatch(/ALLOWED_ORIGINS/);
    expect(polling.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('CORS headers only for an allowed cross origin', async () => {
    const allowed = await request(open.url, handshakePath, { headers: { host: hostOf(open.url), origin: ALLOWED } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED);
  });
});

describe('ACCESS_TOKEN', () => {
  const bearer = { authorization: 'Bearer read-secret' };
  test('reads and metrics need it; the page and /health stay open; ingest keeps its own rule', async () => {
    const host = { host: hostOf(guarded.url) };
    for (const path of ['/api/assets', `/api/ticks?pair=${encodeURIComponent('EUR/USD_otc')}`, `/api/candles?pair=${encodeURIComponent('EUR/USD_otc')}`, '/metrics']) {
      const refused = await request(guarded.url, path, { headers: host });
      expect(refused.status, path).toBe(401);
      expect(refused.json().error).toMatch(/access token/i);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect((await request(guarded.url, path, { headers: { ...host, authorization: 'Bearer wrong' } })).status, path).toBe(401);
      expect((await request(guarded.url, path, { headers: { ...host, ...bearer } })).status, path).toBe(200);
    }
    expect((await request(guarded.url, '/health', { headers: host })).status).toBe(200);
    expect((await request(guarded.url, '/', { headers: host })).status).toBe(200);
    const posted = await request(guarded.url, '/api/ticks', {
      method: 'POST',
      headers: { ...host, 'content-type': 'application/json' },
      body: JSON.stringify(makeTicks('EUR/USD_otc', 3)),
    });
    expect(posted.status).toBe(202); // INGEST_TOKEN is unset here
  });

  test('the Socket.IO handshake needs it as auth.token', async () => {
    expect(await connect(guarded.url)).toMatch(/^refused: Missing or wrong access token/);
    expect(await connect(guarded.url, { token: 'wrong' })).toMatch(/^refused/);
    expect(await connect(guarded.url, { token: 'read-secret' })).toBe('connected');
  });
});

describe('npm run dev: the Vite dev server proxies to QuFLX', () => {
  test('API, health and Socket.IO work through the proxy with the browser\'s Host and Origin', async () => {
    process.env.QUFLX_URL = open.url;
    const { createServer } = await import('vite');
    const vite = await createServer({
      configFile: fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url)),
      server: { port: 0, strictPort: false },
      logLevel: 'silent',
    });
    try {
      await vite.listen();
      const devUrl = vite.resolvedUrls!.local[0]!.replace(/\/$/, '');
      const dev = new URL(devUrl);
      for (const path of ['/api/assets', '/health']) {
        const res = await request(devUrl, path, { headers: { host: dev.host, origin: dev.origin } });
        expect(res.status, path).toBe(200);
      }
      expect(await connect(devUrl, { origin: dev.origin })).toBe('connected');
    } finally {
      await vite.close();
      delete process.env.QUFLX_URL;
    }
  }, 60_000);
});
