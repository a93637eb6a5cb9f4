import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { createHttpServer } from '../../src/http/http-server.js';
import { registerWebRoutes } from '../../src/http/routes/web.js';
import { createLogger } from '../../src/observability/logger.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A built app in a temp folder: index.html and one hashed asset. */
function fakeDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quflx-dist-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>QuFLX</title><div id="root"></div>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
  // A bundle-sized asset: compressible text well over the 1 KB threshold.
  writeFileSync(join(dir, 'assets', 'vendor-def456.js'), Array.from({ length: 4000 }, (_, i) => `export const v${i} = ${i};`).join('\n'));
  return dir;
}

async function server(distDir: string) {
  const app = await createHttpServer(createLogger('silent'));
  app.get('/api/assets', async () => []);
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/api/big', async () => Array.from({ length: 200 }, (_, i) => ({ time: 1_700_000_000 + i * 60, open: 1.08, close: 1.09 })));
  registerWebRoutes(app, distDir);
  await app.ready();
  return app;
}

describe('the browser app at /', () => {
  test('index.html at / and for client-side paths; hashed assets cached for good', async () => {
    const app = await server(fakeDist());
    const root = await app.inject('/');
    expect(root.statusCode).toBe(200);
    expect(root.headers['content-type']).toMatch(/^text\/html/);
    expect(root.headers['cache-control']).toBe('no-cache');
    expect(root.body).toContain('<div id="root">');
    const deep = await app.inject('/charts/EURUSD?tf=1M');
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toBe(root.body);
    const asset = await app.inject('/assets/index-abc123.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await app.inject('/favicon.svg')).statusCode).toBe(200);
    await app.close();
  });

  test('the API keeps its JSON answers and 404s; no file outside the build is served', async () => {
    const app = await server(fakeDist());
    expect((await app.inject('/api/assets')).json()).toEqual([]);
    expect((await app.inject('/health')).json()).toEqual({ status: 'ok' });
    const missing = await app.inject('/api/nothing');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'No route GET /api/nothing' });
    expect((await app.inject('/assets/missing-123.js')).statusCode).toBe(404);
    expect((await app.inject('/assets/..%2f..%2fpackage.json')).statusCode).toBe(404);
    expect((await app.inject('/..%2f..%2fpackage.json')).statusCode).toBe(404);
    expect((await app.inject('/%2e%2e/%2e%2e/package.json')).statusCode).toBe(404);
    expect((await app.inject('/..%2f..%2f..%2f..%2fetc/passwd')).body).not.toContain('root:'); // at most the app's page
    expect((await app.inject({ method: 'POST', url: '/' })).statusCode).toBe(404);
    await app.close();
  });

  test('a path that climbs out of the build is a 403 that names the path, not the body', async () => {
    const app = await server(fakeDist());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    for (const url of ['/../vite.config.ts', '/assets/../../package.json']) {
      // Raw, so that no client tidies the path first.
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
        let text = '';
        s.on('data', (d) => (text += d.toString()));
        s.on('close', () => resolve(text));
        s.on('error', reject);
      });
      expect(answer.split('\r\n')[0], url).toBe('HTTP/1.1 403 Forbidden');
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
        error: expect.stringContaining('outside the web app'),
        details: [{ index: 0, field: 'path', message: expect.any(String) }],
      });
    }
  });

  test('the bundle and JSON over 1 KB are compressed (brotli or gzip, as asked); small answers are not', async () => {
    const app = await server(fakeDist());
    const plain = await app.inject('/assets/vendor-def456.js');
    const br = await app.inject({ url: '/assets/vendor-def456.js', headers: { 'accept-encoding': 'br, gzip' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);
    const gz = await app.inject({ url: '/api/big', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString())).toHaveLength(200);
    const small = await app.inject({ url: '/api/assets', headers: { 'accept-encoding': 'br, gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.json()).toEqual([]);
    await app.close();
  });

  test('without a build: a 503 page that says how to make one', async () => {
    const app = await server(join(tmpdir(), 'quflx-no-such-dist'));
    const res = await app.inject('/');
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('npm run build:web');
    expect((await app.inject('/api/assets')).statusCode).toBe(200);
    await app.close();
  });
});
