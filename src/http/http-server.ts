import fastifyCompress from '@fastify/compress';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { UnavailableError, ValidationError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import { registerExposureGuards, type ExposureOptions } from './exposure.js';
import { registerSecurityHeaders } from './security-headers.js';
import { applyRequestLimits, clientErrorHandler, DEFAULT_HTTP_LIMITS, type HttpLimits } from './request-limits.js';

export type { HttpLimits } from './request-limits.js';
export { bearerMatches } from './bearer.js';

export const BODY_LIMIT = 1024 * 1024;
/** Answers smaller than this go uncompressed (not worth the CPU). */
export const COMPRESS_THRESHOLD = 1024;

/** A JSON body with a key that could pollute prototypes (`__proto__`, `constructor.prototype`). */
class ForbiddenKeyError extends Error {
  readonly statusCode = 400;
  readonly code = 'QUFLX_FORBIDDEN_KEY';
}

/** A body that is not JSON; the parser's own words say where. */
class InvalidJsonError extends Error {
  readonly statusCode = 400;
  readonly code = 'QUFLX_INVALID_JSON';
}

export interface HttpServerOptions {
  /** Shorter time limits (tests of them); the defaults otherwise. */
  limits?: Partial<HttpLimits>;
  /** Host, Origin and access-token guards; none when unset (tests of single routes). */
  exposure?: ExposureOptions;
}

/**
 * Fastify with QuFLX's error contract (every error is JSON `{ error, details? }` a person can
 * read), security headers, and its limits. Hooks run in this order: headers, Host and token
 * guards, body refusal; then the routes' own.
 */
export async function createHttpServer(log: Logger, options: HttpServerOptions = {}): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: true,
    // Node's server: whole request and headers each within their time (Fastify's default of 0
    // would let a trickled body hold a connection for good), checked every second.
    requestTimeout: limits.requestTimeoutMs,
    http: { requestTimeout: limits.requestTimeoutMs, headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    // As Fastify's own, except that a CSV import's upload is not cut at requestTimeoutMs.
    clientErrorHandler,
  });
  // Only JSON bodies are taken: anything else is a 415.
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(new InvalidJsonError('Request body is empty; send JSON (a tick or an array of ticks to /api/ticks, an alert to /api/alerts)'), undefined);
    try {
      done(null, secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const message = (err as Error).message;
      if (/forbidden prototype property/.test(message)) {
        done(new ForbiddenKeyError('Request body has a forbidden key ("__proto__", or "constructor" holding "prototype"); such keys are refused'), undefined);
      } else done(new InvalidJsonError(`Request body is not valid JSON: ${message}`), undefined);
    }
  });
  // Brotli or gzip for every answer over 1 KB (the app bundle, candle and tick JSON). Awaited:
  // it hooks each route as the route is added, so it must be in place before any route.
  await app.register(fastifyCompress, { threshold: COMPRESS_THRESHOLD, encodings: ['br', 'gzip'] });
  await registerSecurityHeaders(app);
  if (options.exposure) registerExposureGuards(app, options.exposure);
  applyRequestLimits(app, limits);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) {
      return reply.code(400).send({ error: error.message, details: error.details });
    }
    if (error instanceof UnavailableError) {
      return reply.code(503).header('Retry-After', String(error.retryAfterS)).send({ error: error.message });
    }
    if (error.code === 'FST_ERR_HANDLER_TIMEOUT') {
      return reply
        .code(503)
        .header('Retry-After', '5')
        .send({ error: `No answer within ${limits.apiReadTimeoutMs} ms: Redis or the database is slow or not answering; retry shortly` });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      log.error({ err: error, url: request.url }, 'request failed');
      return reply.code(500).send({ error: 'Internal server error' });
    }
    return reply.code(status).send(describeClientError(error, request.url.split('?')[0] ?? '/'));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `No route ${request.method} ${request.url.split('?')[0]}` });
  });
  return app;
}

/** The answer to a 4xx that no route shaped itself: what went wrong, naming the field (`body`, `path`). */
function describeClientError(error: FastifyError, path: string): { error: string; details?: { index: number; field: string; message: string }[] } {
  const about = (field: string, message: string) => [{ index: 0, field, message }];
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: `Request body is larger than ${BODY_LIMIT} bytes`, details: about('body', `must be at most ${BODY_LIMIT} bytes`) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: 'Content-Type must be application/json', details: about('body', 'must be JSON (Content-Type: application/json)') };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: 'Request body does not match its Content-Length', details: about('body', error.message) };
    case 'QUFLX_FORBIDDEN_KEY':
      return { error: error.message, details: about('body', 'has a forbidden key') };
    case 'QUFLX_INVALID_JSON':
      return { error: error.message, details: about('body', 'is not valid JSON') };
  }
  if (error.statusCode === 403) {
    return { error: `Forbidden path ${path}: it leads outside the web app`, details: about('path', 'must stay inside the web app') };
  }
  return { error: error.message };
}
