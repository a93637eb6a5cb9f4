import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Time and size limits of an HTTP request (beyond the 1 MiB body limit). */
export interface HttpLimits {
  /** The whole request, headers and body, must arrive within this; else 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** The request line and headers must arrive within this. */
  headersTimeoutMs: number;
  /**
   * After an answer given before the request's body was read (401, 404, 413, ...): how long, and
   * how many bytes, of the rest are read and dropped so that the client, still sending, can read
   * the answer (as nginx's lingering close). Past either, the connection is closed.
   */
  lingerMs: number;
  lingerMaxBytes: number;
  /** A GET under /api with no answer by then gets a 503 (Redis or the database stalled). */
  apiReadTimeoutMs: number;
  /**
   * CSV import and export stream for as long as they need (no request or answer deadline); one
   * that moves nothing for this long (a client that stopped sending or reading, a stalled
   * database) is cut.
   */
  streamIdleMs: number;
  /** The longest a CSV import (upload and write) may take. */
  importMaxMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  lingerMs: 10_000,
  lingerMaxBytes: 64 * 1024 * 1024,
  apiReadTimeoutMs: 10_000,
  streamIdleMs: 60_000,
  importMaxMs: 30 * 60_000,
};

/** Route config of a route that streams for as long as it needs (CSV import and export): no apiReadTimeoutMs cut. */
export const STREAMED_ROUTE = { streamed: true } as const;

/** Set on a connection while its request's body may take longer than requestTimeoutMs. */
const LONG_UPLOAD = Symbol('quflx.longUpload');
type UploadSocket = Socket & { [LONG_UPLOAD]?: boolean };

/**
 * Exempts this request's body from Node's whole-request timeout (requestTimeoutMs): a 100 MB
 * import takes longer than 30 s, read at the pace of the inserts. Its route bounds it instead
 * (size, no progress for streamIdleMs, importMaxMs). The next request on the connection is bound
 * again.
 */
export function exemptFromRequestTimeout(raw: IncomingMessage): void {
  const socket = raw.socket as UploadSocket;
  socket[LONG_UPLOAD] = true;
  const bound = () => {
    socket[LONG_UPLOAD] = false;
  };
  raw.once('end', bound);
  raw.once('close', bound);
}

/**
 * Fastify's clientErrorHandler: Node's request timeout spares exempted uploads; every other
 * client error (a timeout, oversized headers, a malformed request) is answered as Fastify does,
 * in QuFLX's error shape, and the connection closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && (socket as UploadSocket)[LONG_UPLOAD]) return;
  const [status, error] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large']
        : [400, 'Malformed HTTP request'];
  const body = JSON.stringify({ error });
  // Not in the middle of an answer already on its way.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** Methods whose routes take a request body; any other request with one is refused before it is read. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The request announces a body (a length above 0, or chunked). */
export function hasBody(raw: IncomingMessage): boolean {
  return raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
}

const pathOf = (request: FastifyRequest) => request.url.split('?')[0];

/**
 * Bounds what one request can hold: a body to a route that takes none is refused at once
 * (unknown routes, GET routes; no credentials needed to be refused), a GET under /api answers
 * within `apiReadTimeoutMs`, and an answer given before the body was read lingers: the rest is
 * read and dropped, within bounds, instead of resetting a client that is still sending.
 * Node's server enforces the header and whole-request timeouts (see createHttpServer).
 */
export function applyRequestLimits(app: FastifyInstance, limits: HttpLimits): void {
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const streamed = (route.config as { streamed?: boolean } | undefined)?.streamed === true;
    if (route.url.startsWith('/api/') && methods.includes('GET') && !streamed) route.handlerTimeout ??= limits.apiReadTimeoutMs;
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!hasBody(request.raw)) return;
    if (request.is404) {
      return reply.code(404).send({ error: `No route ${request.method} ${pathOf(request)}` });
    }
    if (!BODY_METHODS.has(request.method)) {
      return reply.code(400).send({
        error: `${request.method} ${pathOf(request)} takes no request body`,
        details: [{ index: 0, field: 'body', message: 'must be empty for this route' }],
      });
    }
  });

  // Fastify closes the connection after an error while reading a body (the client may still be
  // sending); closing at once resets a client before it reads the answer. Keep it open instead
  // and linger below: the framing (Content-Length or chunked) lets the rest be read and dropped.
  app.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete && reply.getHeader('connection') === 'close') reply.removeHeader('connection');
  });
  app.addHook('onResponse', async (request) => {
    if (!request.raw.complete) linger(request.raw, limits);
  });
}

/** Reads and drops the rest of a request's body for at most `lingerMs` and `lingerMaxBytes`, then closes. */
function linger(raw: IncomingMessage, limits: HttpLimits): void {
  const socket = raw.socket;
  if (socket.destroyed) return;
  let bytes = 0;
  const stop = () => {
    clearTimeout(timer);
    raw.off('data', count);
    raw.off('end', stop);
    socket.off('close', stop);
  };
  const close = () => {
    stop();
    socket.destroy();
  };
  const count = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limits.lingerMaxBytes) close();
  };
  const timer = setTimeout(close, limits.lingerMs);
  timer.unref();
  raw.on('data', count);
  raw.once('end', stop);
  socket.once('close', stop);
  raw.resume();
}
