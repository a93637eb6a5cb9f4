import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ServerOptions, Socket } from 'socket.io';
import { bearerMatches } from './bearer.js';

/** Who may reach this server, beyond the network: set from HOST, ALLOWED_ORIGINS and ACCESS_TOKEN. */
export interface ExposureOptions {
  /** The listen address (HOST). On a loopback address only loopback Host names are served. */
  listenHost: string;
  /** Origins besides the page's own that may open Socket.IO. */
  allowedOrigins: readonly string[];
  /** When set: GET /api/*, /metrics and the Socket.IO handshake need it as a bearer token. */
  accessToken: string | undefined;
}

/** Whether the listen address is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Whether a Host header names this machine's loopback (`localhost`, `127.x.x.x`, `[::1]`, any
 * port). A DNS-rebinding page reaches a loopback server under its own name, so any other name is
 * refused on a loopback bind. A request without Host (HTTP/1.0) is no browser's and passes.
 */
export function hostIsLoopback(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return true;
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(hostHeader.trim());
  return m !== null && isLoopbackAddress(m[1]!);
}

/**
 * Whether a browser page of `origin` may use this server: no Origin (not a browser), the page's
 * own origin (its host is the request's Host; the Vite dev server proxies with its own Host, so
 * it passes too), or one of ALLOWED_ORIGINS.
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if ((u.protocol === 'http:' || u.protocol === 'https:') && hostHeader !== undefined && u.host === hostHeader.toLowerCase()) return true;
  return allowed.includes(u.origin);
}

/** What to warn about at start: listening beyond localhost with a part left open. */
export function exposureWarnings(options: ExposureOptions & { ingestToken: string | undefined }): string[] {
  if (isLoopbackAddress(options.listenHost)) return [];
  const warnings: string[] = [];
  if (!options.ingestToken) warnings.push('listening beyond localhost with no INGEST_TOKEN: anyone who reaches this port can post ticks');
  if (!options.accessToken) {
    warnings.push('listening beyond localhost with no ACCESS_TOKEN: anyone who reaches this port can read ticks, candles and the live stream');
  }
  return warnings;
}

/** Bearer header, or for Socket.IO also the `auth.token` of the connect packet (browsers cannot set headers on a WebSocket). */
function tokenMatches(authorization: string | undefined, authToken: unknown, token: string): boolean {
  if (bearerMatches(authorization, token)) return true;
  return typeof authToken === 'string' && bearerMatches(`Bearer ${authToken}`, token);
}

const hostRefusal = (host: string | undefined) =>
  `Host ${JSON.stringify(host)} is not served: QuFLX listens on a loopback address and answers only to localhost, 127.0.0.1 or [::1] (this stops DNS-rebinding pages)`;
const TOKEN_REFUSAL = 'Missing or wrong access token (Authorization: Bearer <ACCESS_TOKEN>; in the browser open the page once with ?token=<ACCESS_TOKEN>)';

/** Reads that the access token guards: the API's GETs and the metrics. /health stays open for liveness probes (it holds no data). */
const GUARDED = /^\/api\/|^\/metrics$/;

/**
 * HTTP guards, first of all hooks: the Host check on loopback binds (403), then the access token
 * on reads (401). The page itself and /health stay open; ingest keeps INGEST_TOKEN.
 */
export function registerExposureGuards(app: FastifyInstance, options: ExposureOptions): void {
  const loopback = isLoopbackAddress(options.listenHost);
  app.addHook('onRequest', async (request, reply) => {
    if (loopback && !hostIsLoopback(request.headers.host)) {
      return reply.code(403).send({ error: hostRefusal(request.headers.host), details: [{ index: 0, field: 'host', message: 'must name loopback' }] });
    }
    const token = options.accessToken;
    if (token && (request.method === 'GET' || request.method === 'HEAD') && GUARDED.test(request.url.split('?')[0] ?? '')) {
      if (!bearerMatches(request.headers.authorization, token)) {
        reply.header('WWW-Authenticate', 'Bearer');
        return reply.code(401).send({ error: TOKEN_REFUSAL });
      }
    }
  });
}

/**
 * Socket.IO server options: CORS only for ALLOWED_ORIGINS (same-origin needs none), and a
 * handshake check (WebSocket upgrades bypass CORS) for the Host and the Origin.
 */
export function socketServerOptions(options: ExposureOptions): Partial<ServerOptions> {
  const loopback = isLoopbackAddress(options.listenHost);
  return {
    cors: options.allowedOrigins.length > 0 ? { origin: [...options.allowedOrigins] } : undefined,
    allowRequest: (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => {
      if (loopback && !hostIsLoopback(req.headers.host)) return callback(hostRefusal(req.headers.host), false);
      if (!originAllowed(req.headers.origin, req.headers.host, options.allowedOrigins)) {
        return callback(`Origin ${JSON.stringify(req.headers.origin)} may not open Socket.IO here; add it to ALLOWED_ORIGINS`, false);
      }
      callback(null, true);
    },
  };
}

/** Socket.IO middleware for the access token (`auth: { token }` or a bearer header). */
export function socketTokenGuard(token: string): (socket: Socket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    if (tokenMatches(socket.handshake.headers.authorization, auth?.token, token)) next();
    else next(new Error(TOKEN_REFUSAL));
  };
}
