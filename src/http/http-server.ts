import { timingSafeEqual } from 'node:crypto';
import fastifyCompress from '@fastify/compress';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { UnavailableError, ValidationError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';

export const BODY_LIMIT = 1024 * 1024;
/** Answers smaller than this go uncompressed (not worth the CPU). */
export const COMPRESS_THRESHOLD = 1024;

/** Fastify with QuFLX's error contract: every error is JSON `{ error, details? }` a person can read. */
export async function createHttpServer(log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  // Only JSON bodies are taken: anything else is a 415.
  app.removeContentTypeParser('text/plain');
  // Brotli or gzip for every answer over 1 KB (the app bundle, candle and tick JSON). Awaited:
  // it hooks each route as the route is added, so it must be in place before any route.
  await app.register(fastifyCompress, { threshold: COMPRESS_THRESHOLD, encodings: ['br', 'gzip'] });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) {
      return reply.code(400).send({ error: error.message, details: error.details });
    }
    if (error instanceof UnavailableError) {
      return reply.code(503).header('Retry-After', String(error.retryAfterS)).send({ error: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      log.error({ err: error, url: request.url }, 'request failed');
      return reply.code(500).send({ error: 'Internal server error' });
    }
    return reply.code(status).send({ error: describeClientError(error), details: [{ index: 0, field: 'body', message: error.message }] });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `No route ${request.method} ${request.url.split('?')[0]}` });
  });
  return app;
}

function describeClientError(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `Request body is larger than ${BODY_LIMIT} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Content-Type must be application/json';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is not valid JSON';
    default:
      return error.message;
  }
}

/** Constant-time check of `Authorization: Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
