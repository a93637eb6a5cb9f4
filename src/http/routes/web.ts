import { readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { pageCsp } from '../security-headers.js';

/** Where `vite build --config web/vite.config.ts` writes the browser app. */
export const WEB_DIST_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Paths that belong to the API: never answered with the app's index.html. */
const API_PATH = /^\/(api|socket\.io)(\/|$)|^\/(health|metrics)$/;

const MISSING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QuFLX: web app not built</title>
<style>body{background:#0b0e14;color:#c9d1d9;font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:15vh auto;padding:0 1rem}
code{background:#161b22;padding:.1em .4em;border-radius:4px}h1{font-size:1.3rem;color:#f0b90b}</style></head>
<body><h1>The QuFLX web app is not built yet</h1>
<p>The server is running (the API under <code>/api</code>, <code>/health</code> and Socket.IO all work), but the browser app was not found in <code>web/dist</code>.</p>
<p>Build it with <code>npm run build:web</code> (or restart with <code>npm start</code>, which builds it), then reload this page.</p>
</body></html>`;

/**
 * Serves the browser app (web/dist) at `/`: its files as they are, hashed assets cached for good,
 * and index.html for every other non-API GET, so client-side paths survive a reload. Without a
 * build it answers with a 503 page that says how to make one. Files are looked up per request,
 * so a rebuild while the server runs is picked up.
 */
export function registerWebRoutes(app: FastifyInstance, distDir: string = WEB_DIST_DIR): void {
  // Only `reply.sendFile` (which confines paths to distDir); routing is ours, so the JSON 404
  // handler of the API stays in place. Fastify loads the plugin before it listens.
  void app.register(fastifyStatic, { root: distDir, serve: false });
  const indexFile = join(distDir, 'index.html');

  // index.html carries an inline script (the first requests, see web/index.html): the page's CSP
  // allows it by hash, read from the built file and kept until the file changes.
  let indexCsp = { mtimeMs: -1, csp: '' };
  const missingCsp = pageCsp(MISSING_PAGE);

  const sendIndex = (reply: FastifyReply) => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(indexFile).mtimeMs;
      if (mtimeMs !== indexCsp.mtimeMs) indexCsp = { mtimeMs, csp: pageCsp(readFileSync(indexFile, 'utf8')) };
    } catch {
      return reply
        .code(503)
        .header('Retry-After', '10')
        .header('Content-Security-Policy', missingCsp)
        .type('text/html; charset=utf-8')
        .send(MISSING_PAGE);
    }
    return reply.header('Cache-Control', 'no-cache').header('Content-Security-Policy', indexCsp.csp).sendFile('index.html', { cacheControl: false });
  };

  app.get('/*', async (request, reply) => {
    // Still URL-encoded: sendFile decodes it and keeps it inside distDir.
    const path = request.url.split('?')[0] ?? '/';
    if (API_PATH.test(path)) {
      return reply.code(404).send({ error: `No route ${request.method} ${path}` });
    }
    if (path === '/' || path === '/index.html' || extname(path) === '') return sendIndex(reply);
    if (path.startsWith('/assets/')) {
      // Vite puts a content hash in every asset name: safe to cache for good.
      return reply.sendFile(path.slice(1), { maxAge: '365d', immutable: true });
    }
    return reply.sendFile(path.slice(1), { maxAge: 0 });
  });
}
